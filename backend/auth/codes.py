"""Parent one-time codes: drawn at random, stored as a keyed MAC (HMAC-SHA256), compared in constant time.

The MAC key is derived from the pseudonym secret, which lives in the environment and never in the
database: a database copy holds nothing a 10⁶-guess search could open (a plain or salted hash of a
6-digit code could be, in seconds). Each code has its own salt, so equal codes do not look equal.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CODE_DIGITS = 6


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_key(secret: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"parent-otp-mac/v1").derive(secret)


def _mac(key: bytes, salt: bytes, phone: str, code: str) -> str:
    return hmac.new(key, salt + phone.encode() + b"\0" + code.encode(), hashlib.sha256).hexdigest()


def code_mac(key: bytes, phone: str, code: str) -> str:
    salt = secrets.token_bytes(16)
    return f"{salt.hex()}${_mac(key, salt, phone, code)}"


def code_matches(key: bytes, stored: str, phone: str, code: str) -> bool:
    salt_hex, _, mac = stored.partition("$")
    try:
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    return hmac.compare_digest(mac, _mac(key, salt, phone, code))

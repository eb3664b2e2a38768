"""Password hashing with argon2id (argon2-cffi); authenticator codes (TOTP, pyotp). One-time codes are MACs
instead (backend.auth.codes)."""

from __future__ import annotations

from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults (RFC 9106 low-memory profile).
_passwords = PasswordHasher()
# Verified against when a login names no known admin, so both paths cost the same.
_DUMMY = _passwords.hash("no-such-admin")


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _passwords.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, login: str) -> str:
    """The otpauth:// address an authenticator app reads from a QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name="School meals")


def totp_matches(secret: str, code: str | None, now: datetime) -> bool:
    """RFC 6238 code for `now`, one 30-second step of drift either way (a slow typist, a skewed phone)."""
    digits = (code or "").replace(" ", "")
    return (
        len(digits) == 6
        and digits.isdigit()
        and pyotp.TOTP(secret).verify(digits, for_time=now, valid_window=1)
    )

"""One-time codes sealed in the outbox (AES-256-GCM, pyca/cryptography) so no table holds one in clear.

The outbox row keeps the message with the code masked; the sealed code travels beside it and is wiped
once the gateway has taken the message. The key is derived (HKDF-SHA256) from the pseudonym secret, which
the app and the worker already share and which never lives in the database: a database copy alone
opens nothing. The row id is the associated data, so a sealed code moved to another row does not open.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CODE_MASK = "••••••"
_NONCE = 12


def seal_key(secret: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"sms-outbox-code-seal/v1").derive(
        secret
    )


def seal(key: bytes, message_id: int, code: str) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(key).encrypt(nonce, code.encode(), str(message_id).encode())


def unseal(key: bytes, message_id: int, blob: bytes) -> str | None:
    """The code, or None when the blob was not sealed for this row with this key (e.g. a rotated secret)."""
    try:
        return AESGCM(key).decrypt(blob[:_NONCE], blob[_NONCE:], str(message_id).encode()).decode()
    except (InvalidTag, ValueError):
        return None


def unmask(body: str, code: str) -> str:
    return body.replace(CODE_MASK, code, 1)

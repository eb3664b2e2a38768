"""Password hashing with argon2id (argon2-cffi); one-time codes are MACs instead (backend.auth.codes)."""

from __future__ import annotations

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

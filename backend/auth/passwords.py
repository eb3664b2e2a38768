"""Password and one-time-code hashing with argon2id (argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults (RFC 9106 low-memory profile) for passwords; codes live minutes, so cheaper.
_passwords = PasswordHasher()
_codes = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
# Verified against when a login names no known admin, so both paths cost the same.
_DUMMY = _passwords.hash("no-such-admin")


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _passwords.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def hash_code(code: str) -> str:
    return _codes.hash(code)


def verify_code(stored: str, code: str) -> bool:
    try:
        return _codes.verify(stored, code)
    except (VerificationError, InvalidHashError):
        return False

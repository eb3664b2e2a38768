"""CWT claims (RFC 8392): strict field readers and the time checks with a caller-set leeway."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .cbor import loads_strict
from .errors import Reason, VerificationError

ISS = 1
EXP = 4
NBF = 5
IAT = 6
CTI = 7

UINT32_MAX = 0xFFFF_FFFF
UINT64_MAX = 0xFFFF_FFFF_FFFF_FFFF


def decode_claims(
    payload: bytes, allowed: frozenset[int], required: frozenset[int], max_size: int
) -> dict[int, Any]:
    claims = loads_strict(payload, max_size, "claims")
    if not isinstance(claims, dict):
        raise VerificationError(Reason.MALFORMED, "claims are not a map")
    int_keyed(claims, "claims")
    keys = set(claims)
    if not keys <= allowed:
        raise VerificationError(Reason.MALFORMED, f"unknown claim keys {sorted(keys - allowed, key=repr)}")
    if not required <= keys:
        raise VerificationError(Reason.MALFORMED, f"missing claims {sorted(required - keys)}")
    return claims


def int_keyed(m: dict[Any, Any], name: str) -> None:
    """Map keys must be integers proper: Python finds key 4 under 4.0 or True otherwise (they hash alike)."""
    if any(type(k) is not int for k in m):
        raise VerificationError(Reason.MALFORMED, f"{name} keys must be integers")


def uint(value: Any, name: str, maximum: int = UINT64_MAX) -> int:
    if type(value) is not int or not 0 <= value <= maximum:
        raise VerificationError(Reason.MALFORMED, f"{name} must be an unsigned integer ≤ {maximum}")
    return value


def bstr(value: Any, name: str, min_len: int, max_len: int) -> bytes:
    if not isinstance(value, bytes) or not min_len <= len(value) <= max_len:
        raise VerificationError(
            Reason.MALFORMED, f"{name} must be a byte string of {min_len}..{max_len} bytes"
        )
    return value


def tstr(value: Any, name: str, max_len: int) -> str:
    if not isinstance(value, str) or len(value) > max_len:
        raise VerificationError(
            Reason.MALFORMED, f"{name} must be a text string of at most {max_len} characters"
        )
    return value


def boolean(value: Any, name: str) -> bool:
    if type(value) is not bool:
        raise VerificationError(Reason.MALFORMED, f"{name} must be a boolean")
    return value


def array(value: Any, name: str, max_len: int) -> list[Any]:
    if not isinstance(value, list) or len(value) > max_len:
        raise VerificationError(Reason.MALFORMED, f"{name} must be an array of at most {max_len} items")
    return value


def tuple_of(value: Any, name: str, size: int) -> list[Any]:
    if not isinstance(value, list) or len(value) != size:
        raise VerificationError(Reason.MALFORMED, f"{name} must be an array of {size}")
    return value


def readable_time(unix_s: int) -> str:
    """`2026-11-23T04:00:00Z (1795406400)`: what a person reads and what a log search needs."""
    try:
        iso = dt.datetime.fromtimestamp(unix_s, dt.UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return str(unix_s)
    return f"{iso} ({unix_s})"


def check_window(nbf: int | None, exp: int | None, now: int, leeway: int, *, what: str) -> None:
    """nbf/exp against `now`, both in unix seconds. The leeway is the caller's choice, never a default;
    `what` names the object in the refusal ("voucher token", "trust list", ...)."""
    if leeway < 0:
        raise ValueError("leeway must be ≥ 0")
    if nbf is not None and now + leeway < nbf:
        raise VerificationError(
            Reason.NOT_YET_VALID,
            f"{what} valid from {readable_time(nbf)}, now {readable_time(now)} (leeway {leeway} s)",
        )
    if exp is not None and now - leeway >= exp:
        raise VerificationError(
            Reason.EXPIRED,
            f"{what} expired at {readable_time(exp)}, now {readable_time(now)} (leeway {leeway} s)",
        )

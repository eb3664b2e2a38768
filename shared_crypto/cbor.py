"""Strict CBOR: our objects are deterministically encoded (RFC 8949 §4.2.1), and only that is accepted.

cbor2 decodes leniently (it takes duplicate map keys, indefinite lengths, non-shortest integers and
trailing bytes). Rather than re-implement a parser, we decode with cbor2 and demand that re-encoding
in deterministic form gives back the input byte for byte: every one of those liberties changes the
bytes, so one comparison rejects them all.
"""

from __future__ import annotations

from typing import Any

import cbor2

from .errors import Reason, VerificationError


def dumps(obj: Any) -> bytes:
    return cbor2.dumps(obj, canonical=True)


def loads_strict(data: bytes, max_size: int, what: str) -> Any:
    if len(data) > max_size:
        raise VerificationError(Reason.TOO_LARGE, f"{what}: {len(data)} bytes, cap {max_size}")
    try:
        obj = cbor2.loads(data)
        again = cbor2.dumps(obj, canonical=True)
    except Exception as exc:  # cbor2 raises many types (CBORDecodeError, ValueError, RecursionError…)
        raise VerificationError(
            Reason.MALFORMED, f"{what}: not well-formed CBOR ({type(exc).__name__})"
        ) from None
    if again != data:
        raise VerificationError(
            Reason.MALFORMED,
            f"{what}: not deterministic CBOR (indefinite length, duplicate or unsorted key, "
            "non-shortest form, or trailing bytes)",
        )
    return obj

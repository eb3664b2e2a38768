"""QR text: `SW1:` + base45 (RFC 9285) of the COSE bytes, so the code fits QR alphanumeric mode."""

from __future__ import annotations

import base45

from .errors import Reason, VerificationError

PREFIX = "SW1:"
MAX_QR_TEXT = 512


def to_qr_text(cose: bytes) -> str:
    encoded: bytes = base45.b45encode(cose)
    return PREFIX + encoded.decode("ascii")


def from_qr_text(text: str) -> bytes:
    if len(text) > MAX_QR_TEXT:
        raise VerificationError(Reason.TOO_LARGE, f"QR text of {len(text)} characters, cap {MAX_QR_TEXT}")
    if not text.startswith(PREFIX):
        raise VerificationError(Reason.MALFORMED, f"QR text does not start with {PREFIX}")
    try:
        return bytes(base45.b45decode(text[len(PREFIX) :]))
    except (ValueError, TypeError):
        raise VerificationError(Reason.MALFORMED, "QR text is not valid base45") from None

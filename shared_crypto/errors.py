"""The one error type verification raises, and its stable reason codes."""

from __future__ import annotations

import enum


class Reason(enum.StrEnum):
    """Stable reason codes. Values are part of the wire and log format: never rename one."""

    MALFORMED = "MALFORMED"  # not our encoding: bad prefix, base45, CBOR, structure or claim types
    TOO_LARGE = "TOO_LARGE"  # over the size cap, rejected before parsing
    UNSUPPORTED_ALG = "UNSUPPORTED_ALG"  # alg missing from the protected header, or not EdDSA (-8)
    HEADER_CONFLICT = "HEADER_CONFLICT"  # unprotected alg/kid contradicts the protected header
    UNKNOWN_KID = "UNKNOWN_KID"  # no trusted key with that kid
    WRONG_KEY_ROLE = "WRONG_KEY_ROLE"  # the key exists but may not sign this kind of object
    KEY_NOT_VALID = "KEY_NOT_VALID"  # the signing key is outside its validity period
    BAD_SIGNATURE = "BAD_SIGNATURE"
    NOT_YET_VALID = "NOT_YET_VALID"  # nbf is in the future beyond the leeway
    EXPIRED = "EXPIRED"  # exp has passed beyond the leeway
    WRONG_SCHOOL = "WRONG_SCHOOL"  # made for another school than the one checking it
    SUPERSEDED = "SUPERSEDED"  # token serial below the voucher's minimum serial
    REVOKED = "REVOKED"  # token listed as revoked
    ROLLBACK = "ROLLBACK"  # bundle or trust list older than the one already held
    CARD_MISMATCH = "CARD_MISMATCH"  # card credential made for another card UID


class VerificationError(Exception):
    """Raised for every rejected input; `reason` is the stable code, `detail` is for people."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


class EncodingError(ValueError):
    """Raised when asked to build an object from values our formats cannot carry."""

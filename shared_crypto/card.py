"""Card credential: binds one NFC card UID to a pupil pseudonym at a school; written as an NDEF record."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import claims as c
from .cbor import dumps
from .cose import KeyLookup, sign1, verify_sign1
from .errors import EncodingError, Reason, VerificationError
from .keys import KeyRole, SigningKey

MAX_CARD_CREDENTIAL = 256  # NTAG215 holds 504 user bytes; NDEF framing adds < 40
PSEUDONYM_LEN = 16
UID_HASH_LEN = 16
C_SCHOOL = -20
C_UID = -21
C_PSEUDONYM = -22
_CLAIMS = frozenset({c.IAT, C_SCHOOL, C_UID, C_PSEUDONYM})
# MIFARE Classic UIDs are 4 or 7 bytes, NTAG2xx 7, ISO 14443-A allows 10.
UID_LENGTHS = (4, 7, 10)


def uid_hash(uid: bytes) -> bytes:
    """How allowlists name a card without carrying its UID: domain-separated SHA-256, 16 bytes."""
    return hashlib.sha256(b"SW1-card-uid\x00" + uid).digest()[:UID_HASH_LEN]


@dataclass(frozen=True, slots=True)
class CardCredential:
    school_id: int
    uid: bytes
    pseudonym: bytes
    issued_at: int


def issue_card_credential(key: SigningKey, cred: CardCredential) -> bytes:
    if len(cred.uid) not in UID_LENGTHS or len(cred.pseudonym) != PSEUDONYM_LEN:
        raise EncodingError("card UID is 4, 7 or 10 bytes; pseudonym is 16 bytes")
    payload = dumps(
        {c.IAT: cred.issued_at, C_SCHOOL: cred.school_id, C_UID: cred.uid, C_PSEUDONYM: cred.pseudonym}
    )
    return sign1(payload, key)


def verify_card_credential(
    data: bytes, keys: KeyLookup, *, uid: bytes, now: int | None, leeway: int, school_id: int | None = None
) -> CardCredential:
    """The credential must be for the card it was read from (`uid`) and, if given, for this school."""
    _, payload = verify_sign1(
        data, keys, KeyRole.CARD_ISSUER, now=now, leeway=leeway, max_size=MAX_CARD_CREDENTIAL
    )
    cl = c.decode_claims(payload, _CLAIMS, _CLAIMS, MAX_CARD_CREDENTIAL)
    cred = CardCredential(
        school_id=c.uint(cl[C_SCHOOL], "school id", c.UINT32_MAX),
        uid=c.bstr(cl[C_UID], "uid", 4, 10),
        pseudonym=c.bstr(cl[C_PSEUDONYM], "pseudonym", PSEUDONYM_LEN, PSEUDONYM_LEN),
        issued_at=c.uint(cl[c.IAT], "iat"),
    )
    if cred.uid != uid:
        raise VerificationError(Reason.CARD_MISMATCH, "credential was written for another card")
    if school_id is not None and cred.school_id != school_id:
        raise VerificationError(Reason.WRONG_SCHOOL, f"card for school {cred.school_id}, this is {school_id}")
    return cred

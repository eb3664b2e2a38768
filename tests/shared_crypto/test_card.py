"""Card credential: binding to the card UID, school, and fitting an NTAG215 NDEF record."""

from __future__ import annotations

import hashlib

import pytest

from device.hw import ndef
from shared_crypto import (
    CardCredential,
    EncodingError,
    Reason,
    VerificationError,
    issue_card_credential,
    uid_hash,
    verify_card_credential,
)

from .helpers import CARD, ISSUER, NOW, SCHOOL, store

UID = bytes.fromhex("04a1b2c3d4e5f6")
CRED = CardCredential(SCHOOL, UID, hashlib.sha256(b"p").digest()[:16], NOW)
NTAG215_USER_BYTES = 504


def test_round_trip() -> None:
    data = issue_card_credential(CARD, CRED)
    assert verify_card_credential(data, store(), uid=UID, now=NOW, leeway=0, school_id=SCHOOL) == CRED


@pytest.mark.parametrize("uid_len", [4, 7, 10])
def test_largest_credential_fits_an_ntag215_ndef_record(uid_len: int) -> None:
    cred = CardCredential(0xFFFF_FFFF, b"\xff" * uid_len, b"\xff" * 16, 0xFFFF_FFFF_FFFF_FFFF)
    data = issue_card_credential(CARD, cred)
    tlv = ndef.encode_tlv(ndef.encode_record(data))
    assert len(tlv) <= NTAG215_USER_BYTES
    assert len(data) < 256  # short-record form


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"uid": bytes.fromhex("04000000000000")}, Reason.CARD_MISMATCH),
        ({"school_id": SCHOOL + 1}, Reason.WRONG_SCHOOL),
    ],
)
def test_rejections(kwargs: dict[str, object], reason: Reason) -> None:
    args: dict[str, object] = {"uid": UID, "now": NOW, "leeway": 0, "school_id": SCHOOL, **kwargs}
    with pytest.raises(VerificationError) as exc:
        verify_card_credential(issue_card_credential(CARD, CRED), store(), **args)  # type: ignore[arg-type]
    assert exc.value.reason is reason


def test_only_a_card_issuer_key_may_sign() -> None:
    with pytest.raises(VerificationError) as exc:
        verify_card_credential(issue_card_credential(ISSUER, CRED), store(), uid=UID, now=NOW, leeway=0)
    assert exc.value.reason is Reason.WRONG_KEY_ROLE


@pytest.mark.parametrize(
    "cred", [CardCredential(1, b"\x00" * 5, b"\x00" * 16, 0), CardCredential(1, UID, b"\x00" * 15, 0)]
)
def test_unencodable(cred: CardCredential) -> None:
    with pytest.raises(EncodingError):
        issue_card_credential(CARD, cred)


def test_uid_hash_is_domain_separated_and_16_bytes() -> None:
    assert len(uid_hash(UID)) == 16
    assert uid_hash(UID) != hashlib.sha256(UID).digest()[:16]
    assert uid_hash(UID) != uid_hash(UID[:4])

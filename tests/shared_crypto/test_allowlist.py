"""Allowlist bundle: round trip, school, rollback, freshness, strict structure, a school-sized bundle."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import cbor2
import pytest

from shared_crypto import (
    Bundle,
    Calendar,
    EncodingError,
    Entry,
    EntryStatus,
    MealSlot,
    Reason,
    VerificationError,
    sign1,
    sign_bundle,
    uid_hash,
    verify_bundle,
)

from .helpers import DAY, NOW, SCHOOL, SIGNER, store


def entry(i: int) -> Entry:
    return Entry(
        voucher_id=1_000_000 + i,
        pseudonym=hashlib.sha256(b"%d" % i).digest()[:16],
        card_uid_hashes=(uid_hash(i.to_bytes(7, "big")),),
        plan=1 + i % 2,
        status=EntryStatus.ACTIVE,
        min_serial=i % 5,
        display=f"А. Б., {1 + i % 11}Б",
    )


def bundle(n: int = 3, **changes: Any) -> Bundle:
    b = Bundle(
        school_id=SCHOOL,
        sequence=10,
        generated_at=NOW - 3600,
        valid_until=NOW + DAY,
        entries=tuple(entry(i) for i in range(n)),
        calendar=Calendar(300, (MealSlot(1, 540, 600), MealSlot(2, 720, 810)), {20250908: (1, 2)}),
        revoked=frozenset({(1_000_000, 1)}),
    )
    return replace(b, **changes)


def _verify(data: bytes, **kw: Any) -> Bundle:
    args: dict[str, Any] = {"school_id": SCHOOL, "now": NOW, "leeway": 0, "last_sequence": 9, **kw}
    return verify_bundle(data, store(), **args)


def _reason(data: bytes, **kw: Any) -> Reason:
    with pytest.raises(VerificationError) as exc:
        _verify(data, **kw)
    return exc.value.reason


def test_round_trip() -> None:
    assert _verify(sign_bundle(SIGNER, bundle())) == bundle()


def test_2000_entries_round_trip_within_the_cap() -> None:
    data = sign_bundle(SIGNER, bundle(2000))
    assert len(data) < 200_000
    assert len(_verify(data).entries) == 2000


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"school_id": SCHOOL + 1}, Reason.WRONG_SCHOOL),
        ({"last_sequence": 11}, Reason.ROLLBACK),
        ({"now": NOW + DAY}, Reason.EXPIRED),
    ],
)
def test_rejections(kw: dict[str, int], reason: Reason) -> None:
    assert _reason(sign_bundle(SIGNER, bundle()), **kw) is reason


def test_stored_bundle_rereads_without_time() -> None:
    assert _verify(sign_bundle(SIGNER, bundle()), now=None, last_sequence=None).sequence == 10


def _payload() -> dict[int, Any]:
    obj = cbor2.loads(sign_bundle(SIGNER, bundle()))
    claims: dict[int, Any] = cbor2.loads(obj.value[2])
    return claims


def _tampered(change: Any) -> bytes:
    claims = _payload()
    change(claims)
    return sign1(cbor2.dumps(claims, canonical=True), SIGNER)


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c[-42].append(c[-42][0]),
        lambda c: c[-42][0].__setitem__(4, 7),
        lambda c: c[-42][0].__setitem__(1, b"short"),
        lambda c: c[-42][0].__setitem__(6, "x" * 65),
        lambda c: c[-42][0].__setitem__(2, [b"\x00" * 16] * 5),
        lambda c: c[-43].__setitem__(1, 900),
        lambda c: c[-43][2][0].__setitem__(1, 1441),
        lambda c: c[-43][2][0].__setitem__(2, 500),
        lambda c: c[-43][3][0].__setitem__(1, [9]),
        lambda c: c[-43].pop(3),
        lambda c: c[-43][3].append([20250908, [1]]),
        lambda c: c[-43][2].append([1, 900, 960]),
        lambda c: c.__setitem__(-43, {True: 300, 2: c[-43][2], 3: c[-43][3]}),
        lambda c: c[-44].append([1, 2, 3]),
        lambda c: c.pop(-44),
    ],
    ids=[
        "duplicate-voucher",
        "status",
        "pseudonym",
        "display",
        "too-many-cards",
        "tz",
        "slot-start",
        "slot-order",
        "unknown-slot",
        "no-days",
        "duplicate-day",
        "duplicate-slot-id",
        "bool-calendar-key",
        "revoked-shape",
        "missing-revoked",
    ],
)
def test_malformed_structures(change: Any) -> None:
    assert _reason(_tampered(change)) is Reason.MALFORMED


def test_unencodable_bundles() -> None:
    with pytest.raises(EncodingError):
        sign_bundle(SIGNER, bundle(calendar=Calendar(900, ())))
    with pytest.raises(EncodingError):
        sign_bundle(SIGNER, bundle(entries=(replace(entry(1), pseudonym=b"x"),)))

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
    TariffChange,
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


PRICED = Calendar(
    300,
    (MealSlot(1, 540, 600), MealSlot(2, 720, 810)),
    {20250908: (1, 2), 20250909: (1, 2)},
    {1: {1: 45_000, 2: 80_000}, 2: {2: 80_000}},
    (TariffChange(20250909, 2, 1, 40_000), TariffChange(20250909, 2, 2, 85_000)),
)


def test_tariffs_round_trip_and_apply_from_their_day() -> None:
    got = _verify(sign_bundle(SIGNER, bundle(calendar=PRICED))).calendar
    assert got == PRICED
    assert [got.tariff(d, 2, 2) for d in (20250908, 20250909, 20250910)] == [80_000, 85_000, 85_000]
    assert (got.tariff(20250908, 2, 1), got.tariff(20250909, 2, 1)) == (None, 40_000)
    assert (got.tariff(20250910, 1, 2), got.tariff(20250910, 3, 1)) == (80_000, None)


def test_no_tariffs_leave_the_calendar_keys_out() -> None:
    assert set(_payload()[-43]) == {1, 2, 3}
    claims = cbor2.loads(cbor2.loads(sign_bundle(SIGNER, bundle(calendar=PRICED))).value[2])
    assert claims[-43][4] == [[1, 1, 45_000], [1, 2, 80_000], [2, 2, 80_000]]
    assert claims[-43][5] == [[20250909, 2, 1, 40_000], [20250909, 2, 2, 85_000]]


# The discounted plan (2) with the family's share: 300 ₸ of 800 ₸ at lunch, and from the 9th 150 ₸ of 400 ₸
# at breakfast and still 300 ₸ of the dearer lunch.
SHARED = replace(
    PRICED,
    tariff_changes=(
        TariffChange(20250909, 2, 1, 40_000, 15_000),
        TariffChange(20250909, 2, 2, 85_000, 30_000),
    ),
    family_shares={2: {2: 30_000}},
)


def test_family_shares_round_trip_and_apply_from_their_day() -> None:
    got = _verify(sign_bundle(SIGNER, bundle(calendar=SHARED))).calendar
    assert got == SHARED
    assert [got.family_share(d, 2, 2) for d in (20250908, 20250909)] == [30_000, 30_000]
    assert [got.tariff(d, 2, 2) for d in (20250908, 20250909)] == [80_000, 85_000]
    assert (got.family_share(20250908, 2, 1), got.family_share(20250909, 2, 1)) == (None, 15_000)
    # the free plan: a price, no share; an unpriced plan: neither
    assert (got.family_share(20250909, 1, 1), got.family_share(20250909, 3, 1)) == (0, None)


def test_a_family_share_is_an_element_only_when_above_zero() -> None:
    claims = cbor2.loads(cbor2.loads(sign_bundle(SIGNER, bundle(calendar=SHARED))).value[2])
    assert claims[-43][4] == [[1, 1, 45_000], [1, 2, 80_000], [2, 2, 80_000, 30_000]]
    assert claims[-43][5] == [[20250909, 2, 1, 40_000, 15_000], [20250909, 2, 2, 85_000, 30_000]]


def test_a_change_of_the_family_share_alone_is_a_change() -> None:
    cal = replace(SHARED, tariff_changes=(TariffChange(20250909, 2, 2, 80_000, 20_000),))
    got = _verify(sign_bundle(SIGNER, bundle(calendar=cal))).calendar
    assert [got.family_share(d, 2, 2) for d in (20250908, 20250909)] == [30_000, 20_000]
    # the family paying the whole price (the state's share is zero) is a share equal to it
    whole = replace(SHARED, family_shares={2: {2: 80_000}}, tariff_changes=())
    assert (
        _verify(sign_bundle(SIGNER, bundle(calendar=whole))).calendar.family_share(20250908, 2, 2) == 80_000
    )


def _calendar_tampered(calendar: Calendar, change: Any) -> bytes:
    """A bundle with `calendar` whose encoded calendar `change` edits, signed again."""
    claims = cbor2.loads(cbor2.loads(sign_bundle(SIGNER, bundle(calendar=calendar))).value[2])
    change(claims[-43])
    return sign1(cbor2.dumps(claims, canonical=True), SIGNER)


@pytest.mark.parametrize(
    "change",
    [
        lambda cal: cal[4][0].append(0),
        lambda cal: cal[5][0].append(0),
        lambda cal: cal[4][2].__setitem__(3, 80_001),
        lambda cal: cal[5][0].__setitem__(4, 40_001),
        lambda cal: cal[4][2].__setitem__(3, -1),
        lambda cal: cal[4][2].__setitem__(3, "300"),
        lambda cal: cal[4][2].__setitem__(3, 300.0),
        lambda cal: cal[4][2].__setitem__(3, True),
        lambda cal: cal[5][0].__setitem__(4, [15_000]),
        lambda cal: cal[4][2].append(1),
        lambda cal: cal[5][0].append(1),
        lambda cal: cal[5][1].__setitem__(3, 80_000),
    ],
    ids=[
        "zero-share-listed",
        "zero-change-share-listed",
        "share-above-price",
        "change-share-above-price",
        "share-negative",
        "share-text",
        "share-float",
        "share-bool",
        "change-share-array",
        "tariff-six-long",
        "change-six-long",
        "change-to-the-same-price-and-share",
    ],
)
def test_malformed_family_shares(change: Any) -> None:
    assert _reason(_calendar_tampered(SHARED, change)) is Reason.MALFORMED


@pytest.mark.parametrize(
    "change",
    [
        lambda cal: cal.__setitem__(4, []),
        lambda cal: cal.__setitem__(5, []),
        lambda cal: cal[4].reverse(),
        lambda cal: cal[4].append(cal[4][-1]),
        lambda cal: cal[4].append([2, 7, 1]),
        lambda cal: cal[4].append([24, 1, 1]),
        lambda cal: cal[4][0].__setitem__(2, -1),
        lambda cal: cal[4][0].__setitem__(2, 2**32),
        lambda cal: cal[4][0].extend([1, 1]),
        lambda cal: cal.__setitem__(4, {1: {1: 45_000}}),
        lambda cal: cal[5].reverse(),
        lambda cal: cal[5].append(cal[5][-1]),
        lambda cal: cal[5][1].__setitem__(3, 80_000),
        lambda cal: cal[5][1].__setitem__(2, 7),
        lambda cal: cal[5][0].__setitem__(0, 100_000_000),
        lambda cal: cal[5][0].pop(),
        lambda cal: cal.__setitem__(6, []),
    ],
    ids=[
        "empty-tariffs",
        "empty-changes",
        "tariffs-unsorted",
        "tariff-twice",
        "tariff-unknown-slot",
        "tariff-plan",
        "tariff-negative",
        "tariff-too-large",
        "tariff-shape",
        "tariffs-as-map",
        "changes-unsorted",
        "change-twice",
        "change-to-the-same-price",
        "change-unknown-slot",
        "change-day",
        "change-shape",
        "unknown-calendar-key",
    ],
)
def test_malformed_tariffs(change: Any) -> None:
    assert _reason(_calendar_tampered(PRICED, change)) is Reason.MALFORMED


@pytest.mark.parametrize(
    "calendar",
    [
        replace(PRICED, tariffs={1: {3: 100}}),
        replace(PRICED, tariffs={1: {}}),
        replace(PRICED, tariffs={24: {1: 100}}),
        replace(PRICED, tariffs={1: {1: -1}}),
        replace(PRICED, tariff_changes=PRICED.tariff_changes[::-1]),
        replace(PRICED, tariff_changes=(TariffChange(20250909, 1, 1, 45_000),)),
        replace(PRICED, tariff_changes=(TariffChange(20250909, 1, 9, 45_000),)),
        replace(SHARED, family_shares={2: {1: 100}}),
        replace(SHARED, family_shares={2: {2: 80_001}}),
        replace(SHARED, family_shares={2: {2: 0}}),
        replace(SHARED, tariff_changes=(TariffChange(20250909, 2, 1, 40_000, 40_001),)),
        replace(SHARED, tariff_changes=(TariffChange(20250909, 2, 2, 80_000, 30_000),)),
    ],
    ids=[
        "unknown-slot",
        "plan-without-slots",
        "plan",
        "negative",
        "unsorted",
        "no-change",
        "change-slot",
        "share-of-no-tariff",
        "share-above-price",
        "zero-share-listed",
        "change-share-above-price",
        "change-to-the-same-share",
    ],
)
def test_unencodable_tariffs(calendar: Calendar) -> None:
    with pytest.raises(EncodingError):
        sign_bundle(SIGNER, bundle(calendar=calendar))


def test_unencodable_bundles() -> None:
    with pytest.raises(EncodingError):
        sign_bundle(SIGNER, bundle(calendar=Calendar(900, ())))
    with pytest.raises(EncodingError):
        sign_bundle(SIGNER, bundle(entries=(replace(entry(1), pseudonym=b"x"),)))

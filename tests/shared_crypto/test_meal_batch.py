"""Meal-event batch: round trip, device key role, event strictness, no time check on late batches."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import cbor2
import pytest

from shared_crypto import (
    EncodingError,
    MealBatch,
    MealEvent,
    Method,
    Reason,
    VerificationError,
    sign1,
    sign_batch,
    verify_batch,
)

from .helpers import DAY, DEVICE, NOW, SIGNER, store


def event(n: int, served: bool = True) -> MealEvent:
    return MealEvent(
        event_id=n.to_bytes(16, "big"),
        seq=n,
        boot_id=b"\x01" * 16,
        mono_ms=1000 * n,
        wall_ms=NOW * 1000 + n,
        wall_trusted=n % 2 == 0,
        served=served,
        reason="SERVED" if served else "REVOKED",
        method=Method.CARD if n % 2 else Method.QR,
        voucher_id=n if served else None,
        token_serial=1 if served else None,
        slot=2 if served else None,
        day=20250908 if served else None,
    )


BATCH = MealBatch(terminal_id=9, created_at=NOW, events=(event(1), event(2, served=False), event(3)))


def test_round_trip_returns_the_device_kid() -> None:
    kid, batch = verify_batch(sign_batch(DEVICE, BATCH), store(), leeway=0)
    assert kid == DEVICE.kid and batch == BATCH


def test_a_batch_days_late_still_verifies() -> None:
    old = replace(BATCH, created_at=NOW - 40 * DAY)
    assert verify_batch(sign_batch(DEVICE, old), store(), leeway=0)[1].created_at == NOW - 40 * DAY


def test_only_device_keys() -> None:
    with pytest.raises(VerificationError) as exc:
        verify_batch(sign_batch(SIGNER, BATCH), store(), leeway=0)
    assert exc.value.reason is Reason.WRONG_KEY_ROLE


def _tampered(change: Any) -> bytes:
    claims = cbor2.loads(cbor2.loads(sign_batch(DEVICE, BATCH)).value[2])
    change(claims)
    return sign1(cbor2.dumps(claims, canonical=True), DEVICE)


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c[-82][1].__setitem__(0, c[-82][0][0]),
        lambda c: c[-82][0].pop(12),
        lambda c: c[-82][0].__setitem__(13, 0),
        lambda c: c[-82][0].__setitem__(8, 0),
        lambda c: c[-82][0].__setitem__(5, 1),
        lambda c: c[-82][0].__setitem__(0, b"\x00" * 15),
        lambda c: c[-82][0].__setitem__(7, "R" * 33),
        lambda c: c.__setitem__(-80, -1),
        lambda c: c[-82].__setitem__(0, {(True if k == 1 else k): v for k, v in c[-82][0].items()}),
    ],
    ids=[
        "dup-id",
        "missing-key",
        "extra-key",
        "method",
        "bool-type",
        "id-len",
        "reason-len",
        "terminal",
        "bool-key",
    ],
)
def test_malformed(change: Any) -> None:
    with pytest.raises(VerificationError) as exc:
        verify_batch(_tampered(change), store(), leeway=0)
    assert exc.value.reason is Reason.MALFORMED


def test_unencodable() -> None:
    with pytest.raises(EncodingError):
        sign_batch(DEVICE, replace(BATCH, events=(replace(event(1), event_id=b"short"),)))

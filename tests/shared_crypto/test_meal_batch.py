"""Meal-event batch: round trip, device key role, event strictness, no time check on late batches."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from shared_crypto import meal_batch as mb

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


# Values an event field may be set to: in range, at and past each bound, of the wrong type, and the
# values Python confuses with an int (True, 1.0).
_ODD_VALUES: list[Any] = [None, True, False, -1, 0, 1, 2, 3, 1.0, 255, 256, 0xFFFF, 0x1_0000, 0xFFFF_FFFF,
               0x1_0000_0000, 99991231, 99991232, 2**64 - 1, 2**64, b"\x07" * 15, b"\x07" * 16,
               b"\x07" * 17, bytearray(16), "", "SERVED", "x" * 32, "x" * 33, [], {}]  # fmt: skip


def _good_event() -> dict[Any, Any]:
    return {
        mb.E_ID: b"\x07" * 16, mb.E_SEQ: 5, mb.E_BOOT: b"\x01" * 16, mb.E_MONO_MS: 1000, mb.E_WALL_MS: NOW * 1000,
        mb.E_WALL_TRUSTED: True, mb.E_SERVED: True, mb.E_REASON: "SERVED", mb.E_METHOD: 2,
        mb.E_VOUCHER: 42, mb.E_SERIAL: 1, mb.E_SLOT: 2, mb.E_DAY: 20250908,
    }  # fmt: skip


def _outcome(check: Any, raw: Any) -> tuple[str, Any]:
    try:
        return "ok", check(raw)
    except VerificationError as e:
        return "refused", (e.reason, e.detail)


def _same_answer(raw: Any) -> str:
    """`_event`'s one-pass check and the field-by-field one answer alike; returns which answer."""
    fast, checked = _outcome(mb._event, raw), _outcome(mb._checked_event, raw)
    assert fast == checked, raw
    if fast[0] == "ok":
        assert type(fast[1].method) is Method
    return fast[0]


def test_fast_event_check_answers_as_the_checked_one_for_every_field_and_bound() -> None:
    answers = set()
    for key in range(13):
        for value in _ODD_VALUES:
            raw = _good_event()
            raw[key] = value
            answers.add(_same_answer(raw))
    for odd_key in (True, 1.0, -1, 13, "0"):
        raw = _good_event()
        raw.pop(1)
        raw[odd_key] = 5
        answers.add(_same_answer(raw))
    assert _same_answer(list(_good_event().values())) == "refused"
    assert answers == {"ok", "refused"}


@settings(max_examples=300, deadline=None)
@given(
    changes=st.dictionaries(st.integers(min_value=0, max_value=12), st.sampled_from(_ODD_VALUES), max_size=4)
)
def test_fast_event_check_answers_as_the_checked_one_for_several_changes(changes: dict[int, Any]) -> None:
    raw = _good_event()
    raw.update(changes)
    _same_answer(raw)

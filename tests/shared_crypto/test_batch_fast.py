"""The plain-encoding reader of meal batches accepts only what the generic strict decode accepts, with
the same batch, and leaves every odd or faulty input to it (whose reason codes then answer)."""

from __future__ import annotations

import time
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_crypto import (
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
from shared_crypto.batch_fast import read_plain

from .helpers import DEVICE, NOW, store
from .test_meal_batch import _ODD_VALUES, BATCH, _good_event, event


def _claims(events: list[Any], terminal: Any = 9, iat: Any = NOW) -> dict[int, Any]:
    return {6: iat, mb.C_TERMINAL: terminal, mb.C_EVENTS: events}


def _payload(events: list[Any], **kw: Any) -> bytes:
    return cbor2.dumps(_claims(events, **kw), canonical=True)


def _generic(payload: bytes) -> tuple[str, Any]:
    try:
        return "ok", mb._read_generic(payload)
    except VerificationError as e:
        return "refused", e.reason


def _agrees(payload: bytes) -> bool:
    """True when the plain reader took the payload (and then the generic one gives the same batch)."""
    plain = read_plain(payload)
    if plain is not None:
        unique = len({e.event_id for e in plain.events}) == len(plain.events)
        expected = ("ok", plain) if unique else ("refused", Reason.MALFORMED)  # the caller checks ids
        assert _generic(payload) == expected, payload.hex()
    return plain is not None


def test_a_signed_batch_is_read_by_the_plain_reader() -> None:
    payload = cbor2.loads(cbor2.loads(sign_batch(DEVICE, BATCH)).value[2])
    assert read_plain(cbor2.dumps(payload, canonical=True)) == BATCH
    assert verify_batch(sign_batch(DEVICE, BATCH), store(), leeway=0)[1] == BATCH


def test_every_field_at_and_past_its_bounds() -> None:
    taken = refused = 0
    for key in range(13):
        for value in _ODD_VALUES:
            raw = _good_event()
            raw[key] = value
            payload = _payload([_good_event() | {mb.E_ID: b"\x09" * 16}, raw])
            taken += _agrees(payload)
            refused += _generic(payload)[0] == "refused"
    for terminal, iat in ((0, 0), (2**32 - 1, 2**64 - 1), (2**32, NOW), (-1, NOW), (9, -1), (True, NOW)):
        _agrees(_payload([_good_event()], terminal=terminal, iat=iat))
    assert taken > 50 and refused > 200  # both answers were reached


# A valid batch's payload in encodings the plain reader must leave to the generic decode, which refuses
# them all as not deterministic CBOR.
_GOOD = _payload([_good_event()])
_ODD_ENCODINGS = {
    "non-shortest seq": _GOOD.replace(b"\x01\x05\x02", b"\x01\x18\x05\x02"),
    "indefinite events": _GOOD.replace(b"\x38\x51\x81", b"\x38\x51\x9f") + b"\xff",
    "trailing byte": _GOOD + b"\x00",
    "duplicated claim": b"\xa4\x06\x06" + _GOOD[1:],
    "unsorted claims": b"\xa3" + _GOOD[_GOOD.index(b"\x38\x4f") :] + _GOOD[1 : _GOOD.index(b"\x38\x4f")],
}


@pytest.mark.parametrize("payload", list(_ODD_ENCODINGS.values()), ids=list(_ODD_ENCODINGS))
def test_odd_encodings_are_refused_with_the_generic_reason(payload: bytes) -> None:
    assert read_plain(payload) is None
    with pytest.raises(VerificationError) as exc:
        verify_batch(sign1(payload, DEVICE), store(), leeway=0)
    assert exc.value.reason is Reason.MALFORMED


def test_valid_but_unusual_values_are_still_accepted_by_the_generic_path() -> None:
    # a reason of 30 non-ASCII characters: within the bound, beyond the plain reader's ASCII ≤ 23 bytes
    odd = MealEvent(
        b"\x05" * 16, 1, b"\x01" * 16, 1, 1, True, False, "Ә" * 30, Method.QR, None, None, None, None
    )
    batch = MealBatch(9, NOW, (event(1), odd))
    payload = _payload([_good_event() | {mb.E_REASON: "Ә" * 30}])
    assert read_plain(payload) is None and _generic(payload)[0] == "ok"
    assert verify_batch(sign_batch(DEVICE, batch), store(), leeway=0)[1] == batch


def test_a_duplicated_event_id_is_refused() -> None:
    payload = _payload([_good_event(), _good_event()])
    assert read_plain(payload) is not None  # well-formed; the id check is the caller's
    with pytest.raises(VerificationError) as exc:
        verify_batch(sign1(payload, DEVICE), store(), leeway=0)
    assert exc.value.reason is Reason.MALFORMED


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_random_byte_changes(data: st.DataObject) -> None:
    payload = bytearray(
        _payload([_good_event(), _good_event() | {mb.E_ID: b"\x08" * 16, mb.E_VOUCHER: None}])
    )
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(payload) - 1))
        change = data.draw(st.sampled_from(["flip", "cut", "insert", "drop"]))
        if change == "flip":
            payload[at] = data.draw(st.integers(0, 255))
        elif change == "cut":
            del payload[at:]
        elif change == "insert":
            payload.insert(at, data.draw(st.integers(0, 255)))
        else:
            del payload[at]
        if not payload:
            return
    _agrees(bytes(payload))


def test_the_plain_reader_costs_a_fraction_of_the_generic_decode() -> None:
    events = tuple(event(n) for n in range(1, 501))
    payload = cbor2.loads(sign_batch(DEVICE, MealBatch(9, NOW, events))).value[2]

    def cpu(read: Any) -> float:
        best = float("inf")
        for _ in range(5):
            t0 = time.process_time()
            for _ in range(5):
                read(payload)
            best = min(best, time.process_time() - t0)
        return best

    assert read_plain(payload) == mb._read_generic(payload)
    assert cpu(read_plain) * 2 < cpu(mb._read_generic)

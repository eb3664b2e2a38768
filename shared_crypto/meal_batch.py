"""Meal-event batch: what a terminal uploads, signed by its own device key.

Each event carries an id the terminal made (16 random bytes), so an upload retried after a lost
response is recognised and counted once.
"""

from __future__ import annotations

from . import claims as c
from .batch_fast import read_plain
from .cbor import dumps
from .cose import KeyLookup, sign1, verify_sign1
from .errors import EncodingError, Reason, VerificationError
from .keys import KeyRole, SigningKey
from .meal_batch_model import (
    BOOT_ID_LEN,
    C_EVENTS,
    C_TERMINAL,
    E_BOOT,
    E_DAY,
    E_ID,
    E_METHOD,
    E_MONO_MS,
    E_REASON,
    E_SEQ,
    E_SERIAL,
    E_SERVED,
    E_SLOT,
    E_VOUCHER,
    E_WALL_MS,
    E_WALL_TRUSTED,
    EVENT_ID_LEN,
    MAX_BATCH,
    MAX_DAY,
    MAX_EVENTS,
    MAX_REASON,
    MealBatch,
    MealEvent,
    Method,
)

__all__ = [
    "BOOT_ID_LEN",
    "C_EVENTS",
    "C_TERMINAL",
    "EVENT_ID_LEN",
    "E_BOOT",
    "E_DAY",
    "E_ID",
    "E_METHOD",
    "E_MONO_MS",
    "E_REASON",
    "E_SEQ",
    "E_SERIAL",
    "E_SERVED",
    "E_SLOT",
    "E_VOUCHER",
    "E_WALL_MS",
    "E_WALL_TRUSTED",
    "MAX_BATCH",
    "MAX_DAY",
    "MAX_EVENTS",
    "MAX_REASON",
    "MealBatch",
    "MealEvent",
    "Method",
    "sign_batch",
    "verify_batch",
]

_ALLOWED = frozenset({c.IAT, C_TERMINAL, C_EVENTS})
_EVENT_KEYS = frozenset(range(13))


def sign_batch(key: SigningKey, batch: MealBatch) -> bytes:
    if len(batch.events) > MAX_EVENTS:
        raise EncodingError(f"at most {MAX_EVENTS} events a batch")
    events = []
    for e in batch.events:
        if len(e.event_id) != EVENT_ID_LEN or len(e.boot_id) != BOOT_ID_LEN or len(e.reason) > MAX_REASON:
            raise EncodingError("event id and boot id are 16 bytes; reason ≤ 32 characters")
        events.append(
            {
                E_ID: e.event_id,
                E_SEQ: e.seq,
                E_BOOT: e.boot_id,
                E_MONO_MS: e.mono_ms,
                E_WALL_MS: e.wall_ms,
                E_WALL_TRUSTED: e.wall_trusted,
                E_SERVED: e.served,
                E_REASON: e.reason,
                E_METHOD: int(e.method),
                E_VOUCHER: e.voucher_id,
                E_SERIAL: e.token_serial,
                E_SLOT: e.slot,
                E_DAY: e.day,
            }
        )
    payload = dumps({c.IAT: batch.created_at, C_TERMINAL: batch.terminal_id, C_EVENTS: events})
    return sign1(payload, key)


def _nullable_uint(v: object, name: str, maximum: int) -> int | None:
    return None if v is None else c.uint(v, name, maximum)


_METHODS = {int(m): m for m in Method}
_INT_ONLY = {int}


def _fits(v: object, maximum: int) -> bool:
    return v is None or (type(v) is int and 0 <= v <= maximum)


def _event(raw: object) -> MealEvent:
    """One event, checked field by field. The common case, a well-formed event, takes one pass of inline
    checks; anything else goes through `_checked_event`, which names the first fault (the same answer
    either way: the fast pass accepts only what the checked one accepts)."""
    if type(raw) is dict and raw.keys() == _EVENT_KEYS and set(map(type, raw)) == _INT_ONLY:
        eid, seq, boot, mono, wall = raw[E_ID], raw[E_SEQ], raw[E_BOOT], raw[E_MONO_MS], raw[E_WALL_MS]
        trusted, served, reason, method = raw[E_WALL_TRUSTED], raw[E_SERVED], raw[E_REASON], raw[E_METHOD]
        voucher, serial, slot, day = raw[E_VOUCHER], raw[E_SERIAL], raw[E_SLOT], raw[E_DAY]
        if (
            type(eid) is bytes
            and len(eid) == EVENT_ID_LEN
            and type(boot) is bytes
            and len(boot) == BOOT_ID_LEN
            and type(seq) is int
            and type(mono) is int
            and type(wall) is int
            and 0 <= seq <= c.UINT64_MAX
            and 0 <= mono <= c.UINT64_MAX
            and 0 <= wall <= c.UINT64_MAX
            and type(trusted) is bool
            and type(served) is bool
            and type(reason) is str
            and len(reason) <= MAX_REASON
            and type(method) is int
            and method in _METHODS
            and _fits(voucher, c.UINT32_MAX)
            and _fits(serial, 0xFFFF)
            and _fits(slot, 255)
            and _fits(day, MAX_DAY)
        ):
            return MealEvent(
                eid,
                seq,
                boot,
                mono,
                wall,
                trusted,
                served,
                reason,
                _METHODS[method],
                voucher,
                serial,
                slot,
                day,
            )
    return _checked_event(raw)


def _checked_event(raw: object) -> MealEvent:
    if not isinstance(raw, dict) or set(raw) != _EVENT_KEYS:
        raise VerificationError(Reason.MALFORMED, "an event is a map with keys 0..12")
    c.int_keyed(raw, "event")
    try:
        method = Method(c.uint(raw[E_METHOD], "method"))
    except ValueError:
        raise VerificationError(Reason.MALFORMED, "unknown method") from None
    return MealEvent(
        event_id=c.bstr(raw[E_ID], "event id", EVENT_ID_LEN, EVENT_ID_LEN),
        seq=c.uint(raw[E_SEQ], "seq"),
        boot_id=c.bstr(raw[E_BOOT], "boot id", BOOT_ID_LEN, BOOT_ID_LEN),
        mono_ms=c.uint(raw[E_MONO_MS], "mono ms"),
        wall_ms=c.uint(raw[E_WALL_MS], "wall ms"),
        wall_trusted=c.boolean(raw[E_WALL_TRUSTED], "wall trusted"),
        served=c.boolean(raw[E_SERVED], "served"),
        reason=c.tstr(raw[E_REASON], "reason", MAX_REASON),
        method=method,
        voucher_id=_nullable_uint(raw[E_VOUCHER], "voucher id", c.UINT32_MAX),
        token_serial=_nullable_uint(raw[E_SERIAL], "serial", 0xFFFF),
        slot=_nullable_uint(raw[E_SLOT], "slot", 255),
        day=_nullable_uint(raw[E_DAY], "day", MAX_DAY),
    )


def verify_batch(data: bytes, keys: KeyLookup, *, leeway: int) -> tuple[bytes, MealBatch]:
    """Return (device kid, batch). No time check: batches arrive days late by design."""
    kid, payload = verify_sign1(data, keys, KeyRole.DEVICE, now=None, leeway=leeway, max_size=MAX_BATCH)
    # the plain encoding every terminal sends, read without the generic decoder (batch_fast.py);
    # anything else, a duplicated event id included, is decoded and refused by the generic path
    batch = read_plain(payload)
    if batch is None or len({e.event_id for e in batch.events}) != len(batch.events):
        batch = _read_generic(payload)
    return kid, batch


def _read_generic(payload: bytes) -> MealBatch:
    """Any encoding: decoded strictly (deterministic CBOR only), each fault with its reason code."""
    cl = c.decode_claims(payload, _ALLOWED, _ALLOWED, MAX_BATCH)
    events = tuple(_event(e) for e in c.array(cl[C_EVENTS], "events", MAX_EVENTS))
    if len({e.event_id for e in events}) != len(events):
        raise VerificationError(Reason.MALFORMED, "an event id appears twice in one batch")
    return MealBatch(
        terminal_id=c.uint(cl[C_TERMINAL], "terminal id", c.UINT32_MAX),
        created_at=c.uint(cl[c.IAT], "iat"),
        events=events,
    )

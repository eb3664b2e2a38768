"""The plain encoding of a meal batch's payload, read without the generic decoder.

A terminal's batch is always encoded the same way (`sign_batch`: deterministic CBOR, a map of the
three claims, each event a map of keys 0..12 in order). `read_plain` matches exactly that shape with
regular expressions, each value in its shortest form within its bound, and builds the batch from the
matched bytes; it answers None for anything else (another shape, an odd but valid encoding, a value
out of bounds, a fault), and the caller then runs the generic strict decode, whose reason codes
answer. So this path accepts only what the generic one accepts, with the same result
(tests/shared_crypto/test_batch_fast.py holds them to it), and never refuses anything itself. It saves
the generic path's decode, canonical re-encoding and per-event checks: for a 500-event batch 1.6 ms of
CPU against 4.3 ms (docs/scale.md), the rest being the events' construction, which both paths do.
"""

from __future__ import annotations

import re

from .meal_batch_model import MAX_DAY, MAX_EVENTS, MAX_REASON, MealBatch, MealEvent, Method

# Unsigned integers in their shortest form (RFC 8949 §4.2.1), up to 1, 2, 4 or 8 bytes of argument.
_U8 = rb"[\x00-\x17]|\x18[\x18-\xff]"
_U16 = _U8 + rb"|\x19[\x01-\xff]."
_U32 = _U16 + rb"|\x1a(?:[\x01-\xff]...|\x00[\x01-\xff]..)"
_U64 = (
    _U32
    + rb"|\x1b(?:[\x01-\xff].{7}|\x00[\x01-\xff].{6}|\x00\x00[\x01-\xff].{5}|\x00\x00\x00[\x01-\xff].{4})"
)
_NULL = rb"|\xf6"
# a reason: printable ASCII of at most 23 bytes (one header byte); anything longer takes the generic path
_REASON = b"|".join(bytes([0x60 + n]) + rb"[\x20-\x7e]" + b"{%d}" % n for n in range(min(24, MAX_REASON + 1)))
_BOOL = rb"[\xf4\xf5]"

_HEAD = re.compile(
    rb"\xa3\x06("
    + _U64
    + rb")\x38\x4f("
    + _U32
    + rb")\x38\x51([\x80-\x97]|\x98[\x18-\xff]|\x99[\x01-\xff].)",
    re.DOTALL,
)


def _event_pattern(group: bytes) -> bytes:
    """One event's encoding; `group` opens each value's group: b"(" to capture, b"(?:" not to."""
    fields = (
        (b"\x00\x50", rb".{16}"),
        (b"\x01", _U64),
        (b"\x02\x50", rb".{16}"),
        (b"\x03", _U64),
        (b"\x04", _U64),
        (b"\x05", _BOOL),
        (b"\x06", _BOOL),
        (b"\x07", _REASON),
        (b"\x08", rb"[\x01\x02]"),
        (b"\x09", _U32 + _NULL),
        (b"\x0a", _U16 + _NULL),
        (b"\x0b", _U8 + _NULL),
        (b"\x0c", _U32 + _NULL),
    )
    return b"\xad" + b"".join(key + group + value + b")" for key, value in fields)


_EVENT = re.compile(_event_pattern(b"("), re.DOTALL)
# the whole events section as back-to-back events: an event's encoding is self-delimiting, so where
# this matches, findall's matches from the section's start are exactly its events
_EVENTS = re.compile(b"(?:" + _event_pattern(b"(?:") + b")*", re.DOTALL)
_TRUE = b"\xf5"
_NONE = b"\xf6"
_METHODS = {b"\x01": Method.QR, b"\x02": Method.CARD}


def _uint(raw: bytes) -> int:
    """A matched integer: the header byte's own value (0..23), else its argument bytes."""
    return raw[0] if len(raw) == 1 else int.from_bytes(raw[1:], "big")


def _nullable(raw: bytes) -> int | None:
    return None if raw == _NONE else _uint(raw)


def read_plain(payload: bytes) -> MealBatch | None:
    """The batch, when `payload` is in the plain encoding with every value in bounds; else None."""
    head = _HEAD.match(payload)
    if head is None:
        return None
    iat, terminal, count = head.groups()
    n = count[0] - 0x80 if len(count) == 1 else int.from_bytes(count[1:], "big")
    if n > MAX_EVENTS:
        return None
    section = payload[head.end() :]
    if _EVENTS.fullmatch(section) is None:
        return None
    fields = _EVENT.findall(section)
    if len(fields) != n:
        return None
    reasons: dict[bytes, str] = {}
    events = []
    uint, nullable, big = _uint, _nullable, int.from_bytes
    for eid, seq, boot, mono, wall, trusted, served, reason, method, voucher, serial, slot, day in fields:
        day_no = nullable(day)
        if day_no is not None and day_no > MAX_DAY:
            return None
        text = reasons.get(reason)
        if text is None:
            text = reasons[reason] = reason[1:].decode("ascii")
        events.append(
            MealEvent(
                eid,
                big(seq[1:]) if len(seq) > 1 else seq[0],  # _uint inline: three a row
                boot,
                big(mono[1:]) if len(mono) > 1 else mono[0],
                big(wall[1:]) if len(wall) > 1 else wall[0],
                trusted == _TRUE,
                served == _TRUE,
                text,
                _METHODS[method],
                nullable(voucher),
                nullable(serial),
                nullable(slot),
                day_no,
            )
        )
    return MealBatch(uint(terminal), uint(iat), tuple(events))

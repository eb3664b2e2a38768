"""Allowlist bundle: everything a school's terminals need to decide offline, signed daily.

A terminal never accepts a bundle with a lower sequence number than the one it holds (ROLLBACK), nor
one for another school (WRONG_SCHOOL). The calendar's tariffs are for showing canteen staff the price
of a meal and, on a discounted plan, the family's share of it; no decision depends on them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from . import claims as c
from .card import PSEUDONYM_LEN, UID_HASH_LEN
from .cbor import dumps
from .cose import KeyLookup, sign1, verify_sign1
from .errors import EncodingError, Reason, VerificationError
from .keys import KeyRole, SigningKey

MAX_BUNDLE = 8 * 1024 * 1024
MAX_ENTRIES = 20_000
MAX_CARDS_PER_ENTRY = 4
MAX_DISPLAY = 64
MAX_DAYS = 400
MAX_SLOTS = 8
MAX_REVOKED = 100_000
MAX_PLAN = 23
MAX_TARIFFS = (MAX_PLAN + 1) * MAX_SLOTS
MAX_TARIFF_CHANGES = 1024
C_SCHOOL = -40
C_SEQUENCE = -41
C_ENTRIES = -42
C_CALENDAR = -43
C_REVOKED = -44
_ALLOWED = frozenset({c.IAT, c.EXP, C_SCHOOL, C_SEQUENCE, C_ENTRIES, C_CALENDAR, C_REVOKED})
K_TZ = 1
K_SLOTS = 2
K_DAYS = 3
K_TARIFFS = 4
K_TARIFF_CHANGES = 5
_CALENDAR_REQUIRED = frozenset({K_TZ, K_SLOTS, K_DAYS})
_CALENDAR_ALLOWED = _CALENDAR_REQUIRED | {K_TARIFFS, K_TARIFF_CHANGES}


class EntryStatus(enum.IntEnum):
    ACTIVE = 0
    SUSPENDED = 1
    REVOKED = 2


@dataclass(frozen=True, slots=True)
class Entry:
    voucher_id: int
    pseudonym: bytes
    card_uid_hashes: tuple[bytes, ...]
    plan: int
    status: EntryStatus
    min_serial: int
    display: str  # what canteen staff may see, e.g. "А. Б., 5Б": never an IIN


@dataclass(frozen=True, slots=True)
class MealSlot:
    slot_id: int
    start_minute: int  # local minutes after midnight, inclusive
    end_minute: int  # exclusive


@dataclass(frozen=True, slots=True)
class TariffChange:
    """From local day `day` (yyyymmdd) on, a meal of `plan` in `slot` costs `tiyn`, of which the family
    pays `family_tiyn` (0 when the state pays it all)."""

    day: int
    plan: int
    slot: int
    tiyn: int
    family_tiyn: int = 0


@dataclass(frozen=True, slots=True)
class Calendar:
    utc_offset_minutes: int  # Kazakhstan: +300 nationwide since March 2024
    slots: tuple[MealSlot, ...]
    days: dict[int, tuple[int, ...]] = field(default_factory=dict)  # yyyymmdd → slot ids served that day
    # plan → slot id → tiyn, in force on the bundle's first local day (the day of its iat)
    tariffs: dict[int, dict[int, int]] = field(default_factory=dict)
    # changes later in the bundle's window, in (day, plan, slot) order; each one really changes the price
    tariff_changes: tuple[TariffChange, ...] = ()
    # plan → slot id → the family's part of the opening tariff, tiyn; only shares above zero are listed
    family_shares: dict[int, dict[int, int]] = field(default_factory=dict)

    def tariff(self, day: int, plan: int, slot: int) -> int | None:
        """Tiyn for a meal of `plan` in `slot` on local day `day` (yyyymmdd, not before the bundle's first)."""
        price = self.price(day, plan, slot)
        return None if price is None else price[0]

    def family_share(self, day: int, plan: int, slot: int) -> int | None:
        """The family's tiyn of that meal (0: the state pays it all); None where no tariff is known."""
        price = self.price(day, plan, slot)
        return None if price is None else price[1]

    def price(self, day: int, plan: int, slot: int) -> tuple[int, int] | None:
        """(tiyn, the family's tiyn) of that meal: `tariff` and `family_share` in one walk of the changes."""
        tiyn = self.tariffs.get(plan, {}).get(slot)
        price = None if tiyn is None else (tiyn, self.family_shares.get(plan, {}).get(slot, 0))
        for ch in self.tariff_changes:
            if ch.day > day:
                break
            if (ch.plan, ch.slot) == (plan, slot):
                price = (ch.tiyn, ch.family_tiyn)
        return price


@dataclass(frozen=True, slots=True)
class Bundle:
    school_id: int
    sequence: int
    generated_at: int
    valid_until: int
    entries: tuple[Entry, ...]
    calendar: Calendar
    revoked: frozenset[tuple[int, int]]  # (voucher id, serial)


def sign_bundle(key: SigningKey, b: Bundle) -> bytes:
    if len(b.entries) > MAX_ENTRIES or len(b.revoked) > MAX_REVOKED:
        raise EncodingError("too many entries or revocations")
    if not -720 <= b.calendar.utc_offset_minutes <= 840:
        raise EncodingError("UTC offset out of range")
    for e in b.entries:
        if len(e.pseudonym) != PSEUDONYM_LEN or len(e.display) > MAX_DISPLAY:
            raise EncodingError(
                f"entry {e.voucher_id}: pseudonym is 16 bytes, display ≤ {MAX_DISPLAY} characters"
            )
        if len(e.card_uid_hashes) > MAX_CARDS_PER_ENTRY or any(
            len(h) != UID_HASH_LEN for h in e.card_uid_hashes
        ):
            raise EncodingError(f"entry {e.voucher_id}: at most {MAX_CARDS_PER_ENTRY} 16-byte card hashes")
    problem = _tariff_problem(b.calendar)
    if problem:
        raise EncodingError(problem)
    cal: dict[int, object] = {
        # CBOR carries a signed offset as a negative integer; our uint reader is for the rest.
        K_TZ: b.calendar.utc_offset_minutes,
        K_SLOTS: [[s.slot_id, s.start_minute, s.end_minute] for s in b.calendar.slots],
        K_DAYS: [[d, list(slots)] for d, slots in sorted(b.calendar.days.items())],
    }
    # Absent rather than empty, so each calendar has one encoding.
    # The family's share likewise: a 4th (5th) element only when above zero.
    shares = b.calendar.family_shares
    if b.calendar.tariffs:
        cal[K_TARIFFS] = [
            [plan, slot, tiyn, *_share(shares.get(plan, {}).get(slot, 0))]
            for plan, by_slot in sorted(b.calendar.tariffs.items())
            for slot, tiyn in sorted(by_slot.items())
        ]
    if b.calendar.tariff_changes:
        cal[K_TARIFF_CHANGES] = [
            [t.day, t.plan, t.slot, t.tiyn, *_share(t.family_tiyn)] for t in b.calendar.tariff_changes
        ]
    payload = dumps(
        {
            c.EXP: b.valid_until,
            c.IAT: b.generated_at,
            C_SCHOOL: b.school_id,
            C_SEQUENCE: b.sequence,
            C_ENTRIES: [
                [
                    e.voucher_id,
                    e.pseudonym,
                    list(e.card_uid_hashes),
                    e.plan,
                    int(e.status),
                    e.min_serial,
                    e.display,
                ]
                for e in b.entries
            ],
            C_CALENDAR: cal,
            C_REVOKED: [list(t) for t in sorted(b.revoked)],
        }
    )
    return sign1(payload, key)


def _share(family_tiyn: int) -> list[int]:
    return [family_tiyn] if family_tiyn else []


def _entry(raw: object) -> Entry:
    vid, pseudonym, cards, plan, status, min_serial, display = c.tuple_of(raw, "entry", 7)
    try:
        st = EntryStatus(c.uint(status, "status"))
    except ValueError:
        raise VerificationError(Reason.MALFORMED, "unknown entry status") from None
    return Entry(
        voucher_id=c.uint(vid, "voucher id", c.UINT32_MAX),
        pseudonym=c.bstr(pseudonym, "pseudonym", PSEUDONYM_LEN, PSEUDONYM_LEN),
        card_uid_hashes=tuple(
            c.bstr(h, "card uid hash", UID_HASH_LEN, UID_HASH_LEN)
            for h in c.array(cards, "card hashes", MAX_CARDS_PER_ENTRY)
        ),
        plan=c.uint(plan, "plan", MAX_PLAN),
        status=st,
        min_serial=c.uint(min_serial, "min serial", 0xFFFF),
        display=c.tstr(display, "display", MAX_DISPLAY),
    )


def _tariff_problem(cal: Calendar) -> str | None:
    """What is wrong with the calendar's tariffs, if anything: one check for signer and verifier."""
    known = {s.slot_id for s in cal.slots}
    for plan, by_slot in cal.tariffs.items():
        if not 0 <= plan <= MAX_PLAN or not by_slot:
            return f"tariff plan {plan}: plans are 0..{MAX_PLAN}, each with at least one slot"
        for slot, tiyn in by_slot.items():
            if slot not in known or not 0 <= tiyn <= c.UINT32_MAX:
                return f"tariff plan {plan} slot {slot}: a defined slot, 0..{c.UINT32_MAX} tiyn"
    for plan, by_slot in cal.family_shares.items():
        for slot, share in by_slot.items():
            if not 0 < share <= cal.tariffs.get(plan, {}).get(slot, -1):
                return f"family share plan {plan} slot {slot}: above zero, at most that tariff"
    if len(cal.tariff_changes) > MAX_TARIFF_CHANGES:
        return f"more than {MAX_TARIFF_CHANGES} tariff changes"
    in_force = {
        (p, s): (t, cal.family_shares.get(p, {}).get(s, 0))
        for p, by_slot in cal.tariffs.items()
        for s, t in by_slot.items()
    }
    last = (-1, -1, -1)
    for ch in cal.tariff_changes:
        if not (0 <= ch.day <= 99991231 and 0 <= ch.plan <= MAX_PLAN and 0 <= ch.tiyn <= c.UINT32_MAX):
            return f"tariff change {ch}: day, plan or amount out of range"
        if not 0 <= ch.family_tiyn <= ch.tiyn:
            return f"tariff change {ch}: the family's share is 0..the amount"
        if ch.slot not in known:
            return f"tariff change {ch}: slot {ch.slot} is not defined"
        if (ch.day, ch.plan, ch.slot) <= last:
            return "tariff changes are sorted by (day, plan, slot), each at most once"
        if in_force.get((ch.plan, ch.slot)) == (ch.tiyn, ch.family_tiyn):
            return f"tariff change {ch} repeats the tariff already in force"
        last, in_force[(ch.plan, ch.slot)] = (ch.day, ch.plan, ch.slot), (ch.tiyn, ch.family_tiyn)
    return None


def _with_share(raw: object, name: str, size: int) -> tuple[list[Any], int]:
    """A row of `size` elements, or `size + 1` whose last is the family's share: present only above zero
    (so one encoding), at most the row's amount (the element before it)."""
    if isinstance(raw, list) and len(raw) == size + 1:
        share = c.uint(raw[-1], f"{name} family share", c.UINT32_MAX)
        amount = c.uint(raw[-2], f"{name} amount", c.UINT32_MAX)
        if not 0 < share <= amount:
            raise VerificationError(
                Reason.MALFORMED, f"a {name}'s family share is present only above zero, at most the amount"
            )
        return raw[:size], share
    return c.tuple_of(raw, name, size), 0


def _tariffs(raw: object) -> tuple[dict[int, dict[int, int]], dict[int, dict[int, int]]]:
    """(plan → slot → tiyn, plan → slot → the family's tiyn where above zero)."""
    rows = c.array(raw, "tariffs", MAX_TARIFFS)
    if not rows:
        raise VerificationError(Reason.MALFORMED, "tariffs are omitted when there are none")
    out: dict[int, dict[int, int]] = {}
    shares: dict[int, dict[int, int]] = {}
    last = (-1, -1)
    for row in rows:
        (plan, slot, tiyn), share = _with_share(row, "tariff", 3)
        key = (c.uint(plan, "tariff plan", MAX_PLAN), c.uint(slot, "tariff slot", 255))
        if key <= last:
            raise VerificationError(Reason.MALFORMED, "tariffs are sorted by (plan, slot), each at most once")
        out.setdefault(key[0], {})[key[1]] = c.uint(tiyn, "tariff", c.UINT32_MAX)
        if share:
            shares.setdefault(key[0], {})[key[1]] = share
        last = key
    return out, shares


def _tariff_change(raw: object) -> TariffChange:
    (day, plan, slot, tiyn), share = _with_share(raw, "tariff change", 4)
    return TariffChange(
        c.uint(day, "tariff change day", 99991231),
        c.uint(plan, "tariff change plan", MAX_PLAN),
        c.uint(slot, "tariff change slot", 255),
        c.uint(tiyn, "tariff change amount", c.UINT32_MAX),
        share,
    )


def _calendar(raw: object) -> Calendar:
    if not isinstance(raw, dict) or not _CALENDAR_REQUIRED <= set(raw) <= _CALENDAR_ALLOWED:
        raise VerificationError(
            Reason.MALFORMED, "calendar is a map of tz, slots, days and optionally tariffs and their changes"
        )
    c.int_keyed(raw, "calendar")
    tz = raw[K_TZ]
    if type(tz) is not int or not -720 <= tz <= 840:
        raise VerificationError(Reason.MALFORMED, "calendar UTC offset out of range")
    slots = []
    for s in c.array(raw[K_SLOTS], "slots", MAX_SLOTS):
        sid, start, end = c.tuple_of(s, "slot", 3)
        slot = MealSlot(
            c.uint(sid, "slot id", 255), c.uint(start, "slot start", 1440), c.uint(end, "slot end", 1440)
        )
        if slot.start_minute >= slot.end_minute:
            raise VerificationError(Reason.MALFORMED, "a slot ends after it starts")
        slots.append(slot)
    known = {s.slot_id for s in slots}
    if len(known) != len(slots):
        raise VerificationError(Reason.MALFORMED, "a slot id is defined twice")
    days: dict[int, tuple[int, ...]] = {}
    for d in c.array(raw[K_DAYS], "days", MAX_DAYS):
        day, served = c.tuple_of(d, "day", 2)
        ids = tuple(c.uint(x, "slot id", 255) for x in c.array(served, "day slots", MAX_SLOTS))
        if not set(ids) <= known:
            raise VerificationError(Reason.MALFORMED, "a day names an unknown slot")
        day = c.uint(day, "day", 99991231)
        if day in days:
            raise VerificationError(Reason.MALFORMED, f"day {day} is listed twice")
        days[day] = ids
    changes: tuple[TariffChange, ...] = ()
    if K_TARIFF_CHANGES in raw:
        listed = c.array(raw[K_TARIFF_CHANGES], "tariff changes", MAX_TARIFF_CHANGES)
        if not listed:
            raise VerificationError(Reason.MALFORMED, "tariff changes are omitted when there are none")
        changes = tuple(_tariff_change(t) for t in listed)
    tariffs, shares = _tariffs(raw[K_TARIFFS]) if K_TARIFFS in raw else ({}, {})
    cal = Calendar(
        utc_offset_minutes=tz,
        slots=tuple(slots),
        days=days,
        tariffs=tariffs,
        tariff_changes=changes,
        family_shares=shares,
    )
    problem = _tariff_problem(cal)
    if problem:
        raise VerificationError(Reason.MALFORMED, problem)
    return cal


def verify_bundle(
    data: bytes,
    keys: KeyLookup,
    *,
    school_id: int,
    now: int | None,
    leeway: int,
    last_sequence: int | None = None,
) -> Bundle:
    """Verify a bundle for `school_id`. `now=None` skips time checks (re-reading a stored, accepted bundle)."""
    _, payload = verify_sign1(
        data, keys, KeyRole.ALLOWLIST_SIGNER, now=now, leeway=leeway, max_size=MAX_BUNDLE
    )
    cl = c.decode_claims(payload, _ALLOWED, _ALLOWED, MAX_BUNDLE)
    school = c.uint(cl[C_SCHOOL], "school id", c.UINT32_MAX)
    if school != school_id:
        raise VerificationError(Reason.WRONG_SCHOOL, f"bundle for school {school}, this is {school_id}")
    seq = c.uint(cl[C_SEQUENCE], "sequence")
    if last_sequence is not None and seq < last_sequence:
        raise VerificationError(Reason.ROLLBACK, f"bundle {seq} is older than the held {last_sequence}")
    valid_until = c.uint(cl[c.EXP], "exp")
    if now is not None:
        c.check_window(None, valid_until, now, leeway, what=f"allowlist bundle {seq} of school {school}")
    revoked = set()
    for t in c.array(cl[C_REVOKED], "revoked", MAX_REVOKED):
        vid, serial = c.tuple_of(t, "revoked token", 2)
        revoked.add((c.uint(vid, "voucher id", c.UINT32_MAX), c.uint(serial, "serial", 0xFFFF)))
    entries = tuple(_entry(e) for e in c.array(cl[C_ENTRIES], "entries", MAX_ENTRIES))
    if len({e.voucher_id for e in entries}) != len(entries):
        raise VerificationError(Reason.MALFORMED, "a voucher is listed twice")
    return Bundle(
        school_id=school,
        sequence=seq,
        generated_at=c.uint(cl[c.IAT], "iat"),
        valid_until=valid_until,
        entries=entries,
        calendar=_calendar(cl[C_CALENDAR]),
        revoked=frozenset(revoked),
    )

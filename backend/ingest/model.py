"""Pure ingestion rules: what each uploaded event becomes (a meal, flagged or not, or a refusal record).

Nothing suspicious is dropped: it is stored with flags and held out of billing until an admin decides.
"""

from __future__ import annotations

import bisect
import enum
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from backend.calendar.model import SchoolCalendar, SlotTime
from backend.clock import KZ_TZ
from backend.vouchers.model import VoucherStatus
from shared_crypto import MealEvent, Method

# A served time this far past the moment the server received it cannot be true.
FUTURE_LEEWAY = timedelta(minutes=5)
# Within one boot, wall minus monotonic time is constant up to drift; a larger jump means a clock change.
BOOT_ANCHOR_TOLERANCE_MS = 5 * 60 * 1000
SERVED = "SERVED"


class Flag(enum.StrEnum):
    """Why a served meal is held out of billing. Stable codes: never rename one."""

    DOUBLE_MEAL = "DOUBLE_MEAL"  # second meal for the voucher in the same slot and local date
    AFTER_REVOCATION = "AFTER_REVOCATION"  # voucher revoked or suspended at the event's time
    VOUCHER_INACTIVE = "VOUCHER_INACTIVE"  # not (yet / any longer) active then: awaiting, refused, expired
    CLOCK_OFF = "CLOCK_OFF"  # untrusted wall clock, or a time the other evidence contradicts
    NON_SCHOOL_DAY = "NON_SCHOOL_DAY"
    OUTSIDE_SLOT = "OUTSIDE_SLOT"  # a school day, but no meal slot of the school runs then
    OVER_DAILY_CAPACITY = "OVER_DAILY_CAPACITY"  # more meals in a slot than the school has active vouchers
    UNKNOWN_VOUCHER = "UNKNOWN_VOUCHER"
    WRONG_SCHOOL = "WRONG_SCHOOL"  # the voucher belongs to another school than the terminal's
    # the same card served by another terminal in the same slot and day: a copied card UID is the
    # likeliest cause (a UID-only card proves nothing but its number; docs/security.md)
    CARD_ON_TWO_TERMINALS = "CARD_ON_TWO_TERMINALS"


class ReviewReason(enum.StrEnum):
    NOT_FLAGGED = "NOT_FLAGGED"  # only a held meal can be accepted or rejected


class MealStatus(enum.StrEnum):
    OK = "ok"
    FLAGGED = "flagged"
    REJECTED_BY_ADMIN = "rejected_by_admin"
    ACCEPTED_BY_ADMIN = "accepted_by_admin"


BILLABLE = (MealStatus.OK.value, MealStatus.ACCEPTED_BY_ADMIN.value)
COUNTED = (MealStatus.OK.value, MealStatus.FLAGGED.value, MealStatus.ACCEPTED_BY_ADMIN.value)
REVOKED_STATES = frozenset({VoucherStatus.REVOKED, VoucherStatus.SUSPENDED})
INACTIVE_STATES = frozenset({VoucherStatus.AWAITING_ACTIVATION, VoucherStatus.REFUSED, VoucherStatus.EXPIRED})


class Decision(enum.StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class StatusChange:
    at: datetime
    old_status: str | None
    new_status: str


@dataclass(frozen=True, slots=True)
class VoucherFacts:
    voucher_id: int
    school_id: int
    pupil_id: int
    plan: int
    status: str
    valid_until: date | None
    history: tuple[StatusChange, ...] = ()  # sorted by time
    moves: tuple[tuple[date, int, int], ...] = ()  # (effective_on, from, to) of transfers, in order

    def school_on(self, day: date) -> int:
        """The school the voucher belonged to on a local date: a pupil who moved is billed by date."""
        school = self.moves[0][1] if self.moves else self.school_id
        for effective_on, _from, to in self.moves:
            if effective_on <= day:
                school = to
        return school

    def status_at(self, at: datetime) -> str:
        """The voucher's status at `at`, rebuilt from its audit trail."""
        if not self.history:
            return self.status
        i = bisect.bisect_right([h.at for h in self.history], at)
        if i == 0:
            return self.history[0].old_status or "awaiting_activation"
        return self.history[i - 1].new_status


@dataclass(frozen=True, slots=True)
class Terminal:
    terminal_id: int
    school_id: int
    enrolled_at: datetime


@dataclass(slots=True)
class MealRow:
    id: bytes
    terminal_id: int
    school_id: int
    voucher_id: int | None
    pupil_id: int | None
    plan: int | None
    slot: int | None
    served_at: datetime
    local_date: date
    method: int
    token_serial: int | None
    wall_trusted: bool
    boot_id: bytes
    seq: int
    received_at: datetime
    status: str
    flags: list[str]
    details: list[tuple[str, str]] = field(default_factory=list)

    def flag(self, code: Flag, detail: str) -> None:
        if code.value not in self.flags:
            self.flags.append(code.value)
            self.details.append((code.value, detail))
            self.status = MealStatus.FLAGGED.value


@dataclass(frozen=True, slots=True)
class RefusalRow:
    id: bytes
    terminal_id: int
    school_id: int
    voucher_id: int | None
    reason: str
    at: datetime
    method: int
    wall_trusted: bool
    boot_id: bytes
    seq: int
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Context:
    """What the database said before the batch, loaded in a few queries per batch."""

    terminal: Terminal
    received_at: datetime
    calendar: SchoolCalendar
    vouchers: Mapping[int, VoucherFacts]
    # (voucher, local date, slot) → terminals that already have a (not rejected) meal there
    taken: Mapping[tuple[int, date, int], frozenset[int]]
    # (local date, slot) → meals already counted at the terminal's school
    counts: Mapping[tuple[date, int], int]
    active_vouchers: int


# What the server can store and date: wall times from 1970 to the start of year 9999 (Python's datetime
# ends with 9999, and the local date must exist too); counters within a signed 64-bit column. The
# terminal's uploader holds the same bounds (device/uploader.py) to quarantine what would be refused.
MAX_WALL_MS = 253_370_764_800_000  # 9999-01-01T00:00:00Z
INT64_MAX = 2**63 - 1


def out_of_range(e: MealEvent) -> str:
    """Why the server cannot store this event as it is; "" when it can."""
    if e.wall_ms > MAX_WALL_MS:
        return f"wall time {e.wall_ms} ms is past year 9998"
    if e.seq > INT64_MAX or e.mono_ms > INT64_MAX:
        return "seq or monotonic time is beyond 2⁶³−1"
    return ""


def served_at(e: MealEvent) -> datetime:
    return datetime.fromtimestamp(e.wall_ms / 1000, UTC)


def _day(yyyymmdd: int) -> date | None:
    try:
        return date(yyyymmdd // 10000, yyyymmdd // 100 % 100, yyyymmdd % 100)
    except ValueError:
        return None


def boot_anchors(events: Iterable[MealEvent]) -> dict[bytes, int]:
    """Per boot: the median of wall − monotonic ms over events whose wall clock was trusted."""
    offsets: dict[bytes, list[int]] = defaultdict(list)
    for e in events:
        if e.wall_trusted:
            offsets[e.boot_id].append(e.wall_ms - e.mono_ms)
    return {boot: int(statistics.median_low(v)) for boot, v in offsets.items()}


def _clock_evidence(
    e: MealEvent, at: datetime, local: date, ctx: Context, anchors: Mapping[bytes, int]
) -> str:
    anchor = anchors.get(e.boot_id)
    if not e.wall_trusted:
        if anchor is None:
            return "the terminal's wall clock was not trusted"
        # the same boot's trusted events date this one by its monotonic clock: tell the reviewer
        if not 0 <= e.mono_ms + anchor <= MAX_WALL_MS:
            return "wall clock not trusted, and this boot's trusted events cannot date it"
        rebuilt = datetime.fromtimestamp((e.mono_ms + anchor) / 1000, UTC).astimezone(KZ_TZ)
        return f"wall clock not trusted; by this boot's trusted events it was {rebuilt.isoformat(timespec='minutes')}"
    if at > ctx.received_at + FUTURE_LEEWAY:
        return f"served at {at.isoformat()}, after it was received ({ctx.received_at.isoformat()})"
    if at < ctx.terminal.enrolled_at - FUTURE_LEEWAY:
        return "served before the terminal was enrolled"
    if e.day is not None and _day(e.day) != local:
        return f"the terminal's service day {e.day} is not the local date {local.isoformat()}"
    if anchor is not None and abs(e.wall_ms - e.mono_ms - anchor) > BOOT_ANCHOR_TOLERANCE_MS:
        return "wall clock jumped against the monotonic clock within one boot"
    return ""


def classify(events: Sequence[MealEvent], ctx: Context) -> tuple[list[MealRow], list[RefusalRow]]:
    """Turn a batch's events into rows. Events are judged in time order, so the later of two is the double."""
    anchors = boot_anchors(events)
    taken = {k: set(v) for k, v in ctx.taken.items()}
    counts = dict(ctx.counts)
    meals: list[MealRow] = []
    refusals: list[RefusalRow] = []
    term = ctx.terminal
    days: dict[date, tuple[int, ...]] = {}  # local date → the slots running then
    windows: dict[int | None, SlotTime] = {s.slot: s for s in ctx.calendar.slots}
    for e in sorted(events, key=lambda x: (x.wall_ms, x.seq)):
        at = served_at(e)
        if not e.served:
            refusals.append(
                RefusalRow(
                    e.event_id, term.terminal_id, term.school_id, e.voucher_id, e.reason, at,
                    int(e.method), e.wall_trusted, e.boot_id, e.seq, ctx.received_at,
                )
            )  # fmt: skip
            continue
        local = at.astimezone(KZ_TZ)
        voucher = ctx.vouchers.get(e.voucher_id) if e.voucher_id is not None else None
        row = MealRow(
            id=e.event_id,
            terminal_id=term.terminal_id,
            school_id=term.school_id,
            voucher_id=voucher.voucher_id if voucher else None,
            pupil_id=voucher.pupil_id if voucher else None,
            plan=voucher.plan if voucher else None,
            slot=e.slot if e.slot is not None else ctx.calendar.slot_at(local),
            served_at=at,
            local_date=local.date(),
            method=int(e.method),
            token_serial=e.token_serial,
            wall_trusted=e.wall_trusted,
            boot_id=e.boot_id,
            seq=e.seq,
            received_at=ctx.received_at,
            status=MealStatus.OK.value,
            flags=[],
        )
        _judge(row, local.time(), e, voucher, ctx, anchors, taken, counts, days, windows)
        meals.append(row)
    return meals, refusals


def _judge(
    row: MealRow,
    local_time: time,
    e: MealEvent,
    voucher: VoucherFacts | None,
    ctx: Context,
    anchors: Mapping[bytes, int],
    taken: dict[tuple[int, date, int], set[int]],
    counts: dict[tuple[date, int], int],
    days: dict[date, tuple[int, ...]],
    windows: Mapping[int | None, SlotTime],
) -> None:
    evidence = _clock_evidence(e, row.served_at, row.local_date, ctx, anchors)
    if evidence:
        row.flag(Flag.CLOCK_OFF, evidence)
    running = days.get(row.local_date)
    if running is None:  # a batch's events fall on a day or two: the calendar asked once per day
        running = days[row.local_date] = ctx.calendar.slots_on(row.local_date)
    if not running:
        row.flag(Flag.NON_SCHOOL_DAY, f"{row.local_date.isoformat()} is not a school day")
    elif row.slot not in running:
        row.flag(Flag.OUTSIDE_SLOT, f"slot {row.slot} does not run on {row.local_date.isoformat()}")
    else:
        window = windows[row.slot]
        if not window.contains(local_time):
            row.flag(Flag.OUTSIDE_SLOT, f"served outside slot {row.slot} ({window.start}–{window.end})")
    if voucher is None:
        row.flag(Flag.UNKNOWN_VOUCHER, f"voucher {e.voucher_id} is not known")
        return
    school = voucher.school_on(row.local_date)
    if school != row.school_id:
        row.flag(Flag.WRONG_SCHOOL, f"voucher of school {school} on {row.local_date}")
    status = voucher.status_at(row.served_at)
    if status in REVOKED_STATES:
        row.flag(Flag.AFTER_REVOCATION, f"voucher was {status} at the time of the meal")
    elif status in INACTIVE_STATES or (
        voucher.valid_until is not None and row.local_date > voucher.valid_until
    ):
        row.flag(Flag.VOUCHER_INACTIVE, f"voucher was {status} (valid until {voucher.valid_until})")
    if row.slot is None:
        return
    key = (voucher.voucher_id, row.local_date, row.slot)
    others = taken.setdefault(key, set())
    if others:
        where = ", ".join(str(t) for t in sorted(others))
        row.flag(Flag.DOUBLE_MEAL, f"already served in slot {row.slot} that day by terminal {where}")
        elsewhere = others - {row.terminal_id}
        if row.method == Method.CARD and elsewhere:
            where = ", ".join(str(t) for t in sorted(elsewhere))
            row.flag(
                Flag.CARD_ON_TWO_TERMINALS, f"the card was served at terminal {where} in slot {row.slot}"
            )
    others.add(row.terminal_id)
    if row.status == MealStatus.OK.value:
        day_slot = (row.local_date, row.slot)
        n = counts.get(day_slot, 0) + 1
        if n > ctx.active_vouchers:
            row.flag(
                Flag.OVER_DAILY_CAPACITY,
                f"meal {n} in slot {row.slot}, {ctx.active_vouchers} active vouchers",
            )
        else:
            counts[day_slot] = n

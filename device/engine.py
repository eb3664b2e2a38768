"""The decision engine: a QR text or a card read in, SERVE or REFUSE with a stable reason out.

Rules, in the order they are checked (the first that fails names the refusal):

1. the same QR text or card UID again within `repeat_window_s` is the same event: the earlier verdict
   is returned, marked `repeat`, and nothing new is journaled;
2. trusted time is known (CLOCK_UNKNOWN), an allowlist is held (NO_ALLOWLIST) and not past its grace
   (ALLOWLIST_EXPIRED);
3. QR: the token's signature, role, kid and validity window with the configured leeway, and its school
   (shared_crypto reasons); the voucher is listed (NOT_IN_ALLOWLIST) and active (VOUCHER_NOT_ACTIVE);
   its serial is not below the voucher's minimum (SUPERSEDED) and its id not revoked (REVOKED);
   card: a UID hash registered in the allowlist, else a card credential that verifies, was written for
   this very UID (CARD_MISMATCH) and names a listed pupil; no credential and not registered: CARD_UNKNOWN;
4. today (local time of the calendar's UTC offset) is a school day (SCHOOL_HOLIDAY) and now is inside one
   of its meal slots (NO_MEAL_SLOT_NOW);
5. the voucher has not been served in this slot today, as the journal says (ALREADY_SERVED).

Every decision is appended to the journal before it is returned (so before the indicator shows it).
A journal that cannot take the record turns any decision into REFUSE STORAGE_FULL / JOURNAL_FAULT.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace

from shared_crypto import Calendar, Entry, EntryStatus, MealEvent, Method, VerificationError
from shared_crypto.card import verify_card_credential
from shared_crypto.voucher_token import check_standing, verify_qr_text

from .allowlist_store import AllowlistStore, AllowlistView, Freshness
from .clock import TimeReading, TrustedClock
from .config import Rules
from .interfaces import CardRead, Decision, DeviceReason, Verdict
from .journal import SERVED, Journal, JournalError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A decision before it is journaled; the meal's fields named as on the wire (MealEvent)."""

    reason: DeviceReason | None
    entry: Entry | None = None
    voucher_id: int | None = None
    token_serial: int | None = None
    slot: int | None = None
    day: int | None = None


def local_day_minute(unix_s: int, utc_offset_minutes: int) -> tuple[int, int]:
    """(yyyymmdd, minute of the day) in the calendar's local time."""
    local_min = unix_s // 60 + utc_offset_minutes
    days, minute = divmod(local_min, 1440)
    # Civil date from days since 1970-01-01 (H. Hinnant's algorithm): no tz database needed.
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    return y * 10000 + m * 100 + d, minute


def meal_slot(cal: Calendar, unix_s: int) -> tuple[int, int | None, DeviceReason | None]:
    """(day, slot, refusal): the slot served now, or why there is none."""
    day, minute = local_day_minute(unix_s, cal.utc_offset_minutes)
    served_today = cal.days.get(day)
    if served_today is None:
        return day, None, DeviceReason.SCHOOL_HOLIDAY
    for s in cal.slots:
        if s.slot_id in served_today and s.start_minute <= minute < s.end_minute:
            return day, s.slot_id, None
    return day, None, DeviceReason.NO_MEAL_SLOT_NOW


class Engine:
    def __init__(
        self,
        store: AllowlistStore,
        journal: Journal,
        clock: TrustedClock,
        rules: Rules,
        *,
        new_event_id: Callable[[], bytes] = lambda: os.urandom(16),
    ) -> None:
        self.store = store
        self.journal = journal
        self.clock = clock
        self.rules = rules
        self._new_id = new_event_id
        self._recent: dict[tuple[str, str], tuple[int, Verdict]] = {}
        self.journal_fault: JournalError | None = None  # the last append failure, cleared by a success

    def present_qr(self, text: str) -> Verdict:
        return self._decide(Method.QR, ("qr", text), lambda now, view: self._qr(text, now, view))

    def present_card(self, read: CardRead) -> Verdict:
        return self._decide(
            Method.CARD,
            ("card", read.uid.hex() + ":" + (read.ndef or b"").hex()),
            lambda now, view: self._card(read, now, view),
        )

    # --- orchestration --------------------------------------------------------------------------------
    def _decide(
        self,
        method: Method,
        key: tuple[str, str],
        evaluate: Callable[[int, AllowlistView], Outcome],
    ) -> Verdict:
        reading = self.clock.read()
        earlier = self._repeat(key, reading.mono_ns)
        if earlier is not None:
            return replace(earlier, repeat=True)
        outcome = self._evaluate(reading, evaluate)
        record = MealEvent(
            event_id=self._new_id(),
            seq=0,  # the journal gives it
            boot_id=reading.boot_id,
            mono_ms=reading.mono_ns // 1_000_000,
            wall_ms=reading.wall_ms,
            wall_trusted=reading.trusted,
            served=outcome.reason is None,
            reason=SERVED if outcome.reason is None else outcome.reason.value,
            method=method,
            voucher_id=outcome.voucher_id,
            token_serial=outcome.token_serial,
            slot=outcome.slot,
            day=outcome.day,
        )
        reason = outcome.reason
        seq: int | None = None
        try:
            seq = self.journal.append(record)
            self.journal_fault = None
        except JournalError as e:  # not on flash: not served, and not cached as an event either
            log.error("journal refused a record (%s): refusing", e)
            self.journal_fault = e
            reason = DeviceReason.STORAGE_FULL if e.full else DeviceReason.JOURNAL_FAULT
        entry = outcome.entry
        verdict = Verdict(
            Decision.SERVE if reason is None else Decision.REFUSE,
            reason,
            entry.display if entry else "",
            entry.plan if entry else None,
            outcome.voucher_id,
            outcome.slot,
            outcome.day,
            seq,
            None if seq is None else record.event_id,
        )
        if seq is not None:
            self._recent[key] = (reading.mono_ns, verdict)
        return verdict

    def _repeat(self, key: tuple[str, str], mono_ns: int) -> Verdict | None:
        window = int(self.rules.repeat_window_s * 1e9)
        for k in [k for k, (t, _) in self._recent.items() if not 0 <= mono_ns - t <= window]:
            del self._recent[k]  # also drops entries from before a reboot of the monotonic clock
        hit = self._recent.get(key)
        return None if hit is None else hit[1]

    def _evaluate(self, reading: TimeReading, evaluate: Callable[[int, AllowlistView], Outcome]) -> Outcome:
        if not reading.usable:
            return Outcome(DeviceReason.CLOCK_UNKNOWN)
        now = reading.unix_s
        view = self.store.view
        if view is None:
            return Outcome(DeviceReason.NO_ALLOWLIST)
        if self.store.freshness(now) is Freshness.EXPIRED:
            return Outcome(DeviceReason.ALLOWLIST_EXPIRED)
        try:
            return evaluate(now, view)
        except JournalError as e:  # the one-meal lookup failed: no record of earlier meals, no meal
            log.error("journal lookup failed: %s", e)
            return Outcome(DeviceReason.STORAGE_FULL if e.full else DeviceReason.JOURNAL_FAULT)

    # --- rules ----------------------------------------------------------------------------------------
    def _qr(self, text: str, now: int, view: AllowlistView) -> Outcome:
        try:
            token = verify_qr_text(
                text,
                self.store.trust,
                now=now,
                leeway=self.rules.token_leeway_s,
                school_id=self.store.school_id,
            )
        except VerificationError as e:
            return Outcome(DeviceReason.of(e.reason))
        entry = view.by_voucher.get(token.voucher_id)
        if entry is None:
            return Outcome(
                DeviceReason.NOT_IN_ALLOWLIST, voucher_id=token.voucher_id, token_serial=token.serial
            )
        if entry.status is not EntryStatus.ACTIVE:
            return Outcome(DeviceReason.VOUCHER_NOT_ACTIVE, entry, token.voucher_id, token.serial)
        try:
            check_standing(token, entry.min_serial, view.bundle.revoked)
        except VerificationError as e:
            return Outcome(DeviceReason.of(e.reason), entry, token.voucher_id, token.serial)
        return self._meal(entry, token.serial, now, view)

    def _card(self, read: CardRead, now: int, view: AllowlistView) -> Outcome:
        entry = view.entry_for_card(read.uid)
        if entry is None:
            if read.ndef is None:
                return Outcome(DeviceReason.CARD_UNKNOWN)
            try:
                cred = verify_card_credential(
                    read.ndef,
                    self.store.trust,
                    uid=read.uid,
                    now=now,
                    leeway=self.rules.token_leeway_s,
                    school_id=self.store.school_id,
                )
            except VerificationError as e:
                return Outcome(DeviceReason.of(e.reason))
            entry = view.by_pseudonym.get(cred.pseudonym)
            if entry is None:
                return Outcome(DeviceReason.NOT_IN_ALLOWLIST)
        return self._meal(entry, None, now, view)

    def _meal(self, entry: Entry, token_serial: int | None, now: int, view: AllowlistView) -> Outcome:
        base = Outcome(None, entry, entry.voucher_id, token_serial)
        if entry.status is not EntryStatus.ACTIVE:
            return replace(base, reason=DeviceReason.VOUCHER_NOT_ACTIVE)
        day, slot, refusal = meal_slot(view.bundle.calendar, now)
        base = replace(base, day=day, slot=slot)
        if refusal is not None:
            return replace(base, reason=refusal)
        assert slot is not None
        if self.journal.served_in_slot(entry.voucher_id, day, slot):
            return replace(base, reason=DeviceReason.ALREADY_SERVED)
        return base

"""A month offline on a simulated clock, then the network returns: every record uploaded exactly once.

The terminal synced on the morning of day 0 (signed time, a fresh bundle valid 48 h as the back end
signs them), then loses the network. Each school day it boots at 07:30 (the canteen's power is off at
night), serves `meals_per_day` pupils, half at breakfast and half at lunch, each with a freshly issued
pass token (the phone keeps network time; the terminal keeps its own), runs its housekeeping and tries
to sync once an hour (the connection is refused), and is switched off at 18:00. Its clock is the RTC's
(`rules.rtc`), running `ppm` off true time: a DS3231 is within ±2 ppm at 0–40 °C, 5.2 s a month.

What the allowlist policy does with the staleness is the configured `Rules`' business: under the
default (12 h grace) the terminal warns ALLOWLIST_EXPIRING, serves with ALLOWLIST_STALE, then refuses
ALLOWLIST_EXPIRED (those refusals are journaled and uploaded too); a district that plans for a month
offline sets `stale_grace_hours` to cover it and ships a calendar as long. On day `days` the network
returns: one sync round installs a fresh bundle, anchors the clock and uploads the backlog (one batch
response is lost on the way, so the retry is exercised); the audit compares the journal's event ids
with what the back end stored, and a second round must upload nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from device.config import Rules
from device.sim import scenario
from device.sim.backend import FakeBackend
from device.sim.indicator import PrintingIndicator
from device.terminal import Terminal

START_DAY = dt.date(2026, 9, 1)
BOOT_AT_MIN, OFF_AT_MIN = 7 * 60 + 30, 18 * 60
BUNDLE_VALIDITY_S = 48 * 3600  # backend/fleet/allowlist.py VALIDITY
BACKEND_CALENDAR_DAYS = 14  # backend/fleet/allowlist.py CALENDAR_DAYS


@dataclass(frozen=True)
class Policy:
    name: str
    rules: Rules
    calendar_days: int  # how many days ahead the held bundle's calendar lists


DEFAULT = Policy(
    "default rules (24 h warning, 12 h grace), the back end's 14-day calendar", Rules(rtc=True), 14
)
MONTH_OFFLINE = Policy(
    "rules for a month offline (stale_grace_hours 744), a 31-day calendar",
    Rules(rtc=True, stale_grace_hours=744.0),
    31,
)


class DriftingClock:
    """device.interfaces.Clock whose wall clock runs `ppm` off true time; monotonic time restarts at
    each boot. `true` is the world's time (the phones', the back end's)."""

    def __init__(self, start: float, ppm: float) -> None:
        self.true = start
        self._start = start
        self._rate = 1.0 + ppm * 1e-6
        self._boot_true = start
        self._boot_id = uuid.uuid4().bytes

    def wall(self) -> float:
        return self._start + (self.true - self._start) * self._rate

    def monotonic_ns(self) -> int:
        return 1_000_000_000 + int((self.true - self._boot_true) * 1e9)

    def boot_id(self) -> bytes:
        return self._boot_id

    def advance_to(self, true: float) -> None:
        if true < self.true:
            raise ValueError("time only moves forward")
        self.true = true

    def reboot(self) -> None:
        self._boot_true = self.true
        self._boot_id = uuid.uuid4().bytes


@dataclass
class MonthReport:
    policy: str
    days_offline: int
    meals_per_day: int
    rtc_ppm: float
    presented: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)  # SERVED or the refusal reason → count
    served_per_day: list[int] = field(default_factory=list)
    fault_first_seen_h: dict[str, float] = field(default_factory=dict)  # hours after the last sync
    valid_until_h: float = 0.0
    stale_until_h: float = 0.0
    sync_attempts_offline: int = 0
    clock_error_s_before_resync: float = 0.0
    clock_offset_s_reported: float | None = None
    journal_records: int = 0
    journal_bytes_before_upload: int = 0
    upload_s: float = 0.0
    upload_batches: int = 0
    upload_events: int = 0
    upload_retries: int = 0
    duplicates_answered: int = 0  # events resent after the lost response; the back end kept one
    stored_at_backend: int = 0
    missing_at_backend: int = 0
    unknown_at_backend: int = 0
    pending_after: int = 0
    second_round_events: int = 0
    pruned: int = 0
    journal_bytes_after_prune: int = 0
    faults_after_sync: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def exactly_once(self) -> bool:
        return (
            self.stored_at_backend == self.journal_records
            and not self.missing_at_backend
            and not self.unknown_at_backend
            and not self.pending_after
            and not self.second_round_events
        )


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused (offline)", request=request)


def _journal_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.glob("journal.sqlite3*"))


def run(
    workdir: Path,
    *,
    days: int = 30,
    meals_per_day: int = 2000,
    ppm: float = -2.0,
    policy: Policy = MONTH_OFFLINE,
) -> MonthReport:
    t_run = time.perf_counter()
    logging.getLogger("device.sync").setLevel(logging.ERROR)  # a month of "connection refused" warnings
    keys = scenario.Keys()
    local = scenario.unix_local
    day0 = local(START_DAY.year, START_DAY.month, START_DAY.day, 7, 0)
    clock = DriftingClock(day0, ppm)
    calendar_days = [START_DAY + dt.timedelta(days=i) for i in range(policy.calendar_days)]
    held = scenario.bundle(
        days=calendar_days, generated_at=day0, valid_until=day0 + BUNDLE_VALIDITY_S, n=meals_per_day
    )
    cfg = scenario.provision(workdir / "terminal", keys, held, rules=policy.rules)
    backend = FakeBackend(keys, now=lambda: int(clock.true))
    backend.set_bundle(held)
    offline = httpx.Client(base_url="http://backend.test", transport=httpx.MockTransport(_refused))
    report = MonthReport(policy.name, days, meals_per_day, ppm)
    report.valid_until_h = BUNDLE_VALIDITY_S / 3600
    report.stale_until_h = report.valid_until_h + policy.rules.stale_grace_hours
    verdicts: Counter[str] = Counter()
    quiet = PrintingIndicator(out=lambda _s: None)

    def open_terminal() -> Terminal:
        return Terminal.from_config(cfg, clock=clock, indicator=quiet, sleep=lambda _s: None)

    def note_faults(term: Terminal) -> None:
        for fault in term.faults():
            report.fault_first_seen_h.setdefault(fault, round((clock.true - last_sync) / 3600, 2))

    term = open_terminal()
    with backend.client() as online:
        first = term.sync_once(online)  # day 0: signed time, the bundle, an empty upload
    assert first.ok, first.errors
    last_sync = clock.true
    for d in range(days):
        day = START_DAY + dt.timedelta(days=d)
        midnight = local(day.year, day.month, day.day)
        if d:
            clock.advance_to(midnight + BOOT_AT_MIN * 60)
            clock.reboot()
            term = open_terminal()
        served_before = verdicts["SERVED"]
        next_sync = clock.true
        half = meals_per_day // 2
        for slot, pupils in (
            (scenario.BREAKFAST, range(1, half + 1)),
            (scenario.LUNCH, range(half + 1, meals_per_day + 1)),
        ):
            start, end = midnight + slot.start_minute * 60 + 60, midnight + slot.end_minute * 60 - 60
            step = (end - start) / len(pupils)
            for i, voucher in enumerate(pupils):
                clock.advance_to(start + i * step)
                if clock.true >= next_sync:  # the hourly sync attempt, refused, and its housekeeping
                    term.sync_once(offline)
                    report.sync_attempts_offline += 1
                    note_faults(term)
                    next_sync = clock.true + 3600
                verdict = term.present_qr(scenario.qr_text(keys, voucher, int(clock.true)))
                verdicts["SERVED" if verdict.served else str(verdict.reason)] += 1
        clock.advance_to(midnight + OFF_AT_MIN * 60)
        term.housekeeping()
        note_faults(term)
        term.close()  # switched off for the night
        report.served_per_day.append(verdicts["SERVED"] - served_before)
    report.presented = sum(verdicts.values())
    report.verdicts = dict(verdicts)

    # The network returns on the morning of day `days`.
    back = START_DAY + dt.timedelta(days=days)
    clock.advance_to(local(back.year, back.month, back.day) + BOOT_AT_MIN * 60)
    clock.reboot()
    report.clock_error_s_before_resync = round(clock.wall() - clock.true, 3)
    term = open_terminal()
    journaled = {r.event_id for r in term.journal.records()}
    report.journal_records = len(journaled)
    report.journal_bytes_before_upload = _journal_bytes(cfg.data_dir)
    backend.set_bundle(
        scenario.bundle(
            days=[back + dt.timedelta(days=i) for i in range(BACKEND_CALENDAR_DAYS)],
            generated_at=int(clock.true),
            valid_until=int(clock.true) + BUNDLE_VALIDITY_S,
            n=meals_per_day,
            sequence=2,
        )
    )
    backend.lose_batch_responses = 1  # stored, but the answer is lost: the terminal must resend
    with backend.client() as online:
        t0 = time.perf_counter()
        back_online = term.sync_once(online)
        report.upload_s = round(time.perf_counter() - t0, 3)
        again = term.sync_once(online)
    assert back_online.upload is not None and again.upload is not None, (back_online.errors, again.errors)
    report.upload_batches = back_online.upload.batches
    report.upload_events = back_online.upload.events
    report.upload_retries = back_online.upload.retries
    report.duplicates_answered = backend.duplicates_answered
    report.clock_offset_s_reported = back_online.clock_offset_s
    stored = set(backend.events)
    report.stored_at_backend = len(stored)
    report.missing_at_backend = len(journaled - stored)
    report.unknown_at_backend = len(stored - journaled)
    report.pending_after = term.journal.pending_count()
    report.second_round_events = again.upload.events
    report.pruned = back_online.pruned + again.pruned
    report.faults_after_sync = term.faults()
    term.close()
    report.journal_bytes_after_prune = _journal_bytes(cfg.data_dir)
    report.elapsed_s = round(time.perf_counter() - t_run, 1)
    return report

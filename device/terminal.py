"""A whole terminal in one object: engine, journal, stores, trusted clock, indicator, sync.

Programmatic API (what `python -m device run` and the back end's demo drive):

```python
from device.config import load_config
from device.terminal import Terminal

term = Terminal.from_config(load_config(path), clock=ManualClock(...), indicator=PrintingIndicator())
verdict = term.present_qr("SW1:...")       # -> device.interfaces.Verdict (journaled before it returns)
verdict = term.present_card(CardRead(uid, ndef))
report = term.sync_once(http_client)        # httpx.Client whose base_url is the back end's root
term.start_background_sync(lambda: httpx.Client(base_url=cfg.server_url))   # the device's own loop
term.start_housekeeping()                   # faults, standing state, clock floor, screen status: every second
term.standing()                             # IndicatorState the terminal rests in (IDLE, WARNING, FAULT)
term.faults()                               # e.g. ["ALLOWLIST_STALE", "CLOCK_UNTRUSTED"], also sent in health
term.board                                  # what the kiosk screen shows (device.kiosk)
term.close()
```

`present_*` appends the decision to the journal, then shows SERVED or REFUSED on the indicator and
puts it on the kiosk board, and never raises for bad input or a full disk (REFUSE with a DeviceReason).
Nothing slow runs per meal: disk and driver probes and the clock floor's write are the housekeeping
timer's. `sync_once` fetches the trust
list, signed time and allowlist, uploads pending records and posts health; failures are in the report.
Files in `cfg.data_dir`: trust_list.cose, allowlist.cose (as provisioning writes them),
journal.sqlite3 (+ -wal), trusted_time.json.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from shared_crypto import Bundle, MealEvent, SigningKey, VerifyKey

from . import SOFTWARE_VERSION
from .allowlist_store import AllowlistStore, AllowlistView, Freshness
from .clock import SystemClock, TimeReading, TimeStatus, TrustedClock
from .config import DeviceConfig
from .engine import Engine, local_day_minute
from .interfaces import CardRead, Clock, Indicator, IndicatorState, Verdict
from .journal import Journal, JournalError
from .kiosk.board import RECENT, Board, Shown, SlotTimes, Status, priced
from .sim.indicator import PrintingIndicator

if TYPE_CHECKING:  # httpx and the sync code load on the first sync: serving starts sooner after a power cut
    import httpx

    from .sync import SyncClient, SyncReport, SyncWorker

log = logging.getLogger(__name__)
SERVING_STOPS = frozenset({"JOURNAL_FULL", "JOURNAL_FAULT", "NO_ALLOWLIST", "ALLOWLIST_EXPIRED"})
METHOD_NAMES = {1: "qr", 2: "card"}


class Terminal:
    def __init__(
        self,
        cfg: DeviceConfig,
        *,
        key: SigningKey,
        root: VerifyKey,
        clock: Clock,
        indicator: Indicator,
        sleep: Callable[[float], object] | None = None,
        board: Board | None = None,
    ) -> None:
        self.cfg = cfg
        self._closing = threading.Event()  # cuts retry back-off short when the terminal stops
        self.indicator = indicator
        rules = cfg.rules
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        self.clock = TrustedClock(clock, cfg.clock_state_path, rtc=rules.rtc)
        self.store = AllowlistStore(
            cfg.data_dir,
            root,
            cfg.school_id,
            leeway_s=rules.signed_object_leeway_s,
            stale_grace_s=rules.stale_grace_s,
        )
        self.journal = Journal(cfg.journal_path)
        self.engine = Engine(self.store, self.journal, self.clock, rules)
        self.board = board or Board()
        self._key = key
        self._sleep = sleep or self._closing.wait
        self._sync: SyncClient | None = None
        self._worker: SyncWorker | None = None
        self._housekeeper: threading.Thread | None = None
        self._standing: IndicatorState | None = None
        self._serve_lock = threading.Lock()  # camera and card threads: one decision at a time
        self._indicator_lock = threading.RLock()  # the sync thread may change the standing state too
        self._fault_sources: list[Callable[[], str | None]] = []
        self._probed: list[str] = []  # driver and disk faults as the last housekeeping found them
        self._online: bool | None = None
        self._last_contact_ms: int | None = None
        self._backlog = self.journal.pending_count()
        self._load_board()
        self.housekeeping()

    @classmethod
    def from_config(
        cls,
        cfg: DeviceConfig,
        *,
        clock: Clock | None = None,
        indicator: Indicator | None = None,
        sleep: Callable[[float], object] | None = None,
        board: Board | None = None,
    ) -> Terminal:
        """Keys from `cfg.key_file` (PEM) and `cfg.root_key_file` (raw 32 bytes), as provisioning wrote them."""
        key = SigningKey.load(cfg.key_file)
        root = VerifyKey(cfg.root_key_file.read_bytes())
        return cls(
            cfg,
            key=key,
            root=root,
            clock=clock or SystemClock(),
            indicator=indicator or PrintingIndicator(),
            sleep=sleep,
            board=board,
        )

    # --- serving --------------------------------------------------------------------------------------
    def present_qr(self, text: str) -> Verdict:
        with self._serve_lock:
            return self._show(self.engine.present_qr(text), "qr")

    def present_card(self, read: CardRead) -> Verdict:
        with self._serve_lock:
            return self._show(self.engine.present_card(read), "card")

    def _show(self, verdict: Verdict, method: str) -> Verdict:
        """LED and buzzer first, then the screen. The standing state comes from what is in memory (the
        probed driver and disk faults are the housekeeping timer's): no system call per meal."""
        reading = self.clock.read()
        with self._indicator_lock:
            self._set_standing(self._probed + self._state_faults(reading))  # first: not cutting the pattern
            self.indicator.show(IndicatorState.SERVED if verdict.served else IndicatorState.REFUSED)
        if verdict.seq is not None and not verdict.repeat:
            self._backlog += 1
        bundle = self.store.bundle
        price, family = priced(
            None if bundle is None else bundle.calendar,
            verdict.served,
            verdict.plan,
            verdict.slot,
            verdict.day,
        )
        self.board.decided(
            Shown(
                seq=verdict.seq,
                at_ms=reading.wall_ms,
                method=method,
                served=verdict.served,
                reason=None if verdict.reason is None else verdict.reason.value,
                display=verdict.display,
                plan=verdict.plan,
                price_tiyn=price,
                family_tiyn=family,
                slot=verdict.slot,
                day=verdict.day,
                repeat=verdict.repeat,
            )
        )
        if verdict.served and verdict.day is not None and verdict.day != self.board.counting_day():
            self._count_day(verdict.day)  # the first meal of a day the timer has not seen yet
        return verdict

    # --- state ----------------------------------------------------------------------------------------
    def add_fault_source(self, source: Callable[[], str | None]) -> None:
        """A driver's health (e.g. the NFC reader's current fault): a code while faulty, else None."""
        self._fault_sources.append(source)
        self.refresh_standing()

    def refresh_standing(self) -> None:
        """Re-read the faults and show the standing state if it changed (a driver fault came or went)."""
        self._set_standing(self.faults())

    def faults(self) -> list[str]:
        """Every fault now: drivers and disk probed afresh, then the journal, clock and allowlist."""
        self._probed = self._probe()
        return self._probed + self._state_faults(self.clock.read())

    def _probe(self) -> list[str]:
        out: list[str] = [code for code in (source() for source in self._fault_sources) if code]
        try:
            if shutil.disk_usage(self.cfg.data_dir).free < self.cfg.rules.disk_warning_bytes:
                out.append("DISK_LOW")
        except OSError:
            out.append("DISK_UNREADABLE")
        return out

    def _state_faults(self, reading: TimeReading) -> list[str]:
        """Faults read from memory alone: cheap enough for every decision."""
        out: list[str] = []
        fault = self.engine.journal_fault
        if fault is not None:
            out.append("JOURNAL_FULL" if fault.full else "JOURNAL_FAULT")
        if reading.status is TimeStatus.UNKNOWN:
            out.append("CLOCK_UNKNOWN")
        elif reading.status is TimeStatus.UNTRUSTED:
            out.append("CLOCK_UNTRUSTED")
        bundle = self.store.bundle
        if bundle is None:
            out.append("NO_ALLOWLIST")
        elif reading.usable:
            freshness = self.store.freshness(reading.unix_s)
            if freshness is Freshness.STALE:
                out.append("ALLOWLIST_STALE")
            elif freshness is Freshness.EXPIRED:
                out.append("ALLOWLIST_EXPIRED")
            elif reading.unix_s >= bundle.valid_until - self.cfg.rules.allowlist_warning_s:
                out.append("ALLOWLIST_EXPIRING")  # early: time to bring the terminal online
        return out

    def standing(self) -> IndicatorState:
        """FAULT when nothing can be served; WARNING when serving goes on with a caveat; else IDLE."""
        return _standing_of(self.faults())

    def _set_standing(self, faults: list[str]) -> None:
        state = _standing_of(faults)
        with self._indicator_lock:
            if state is not self._standing:
                self._standing = state
                self.indicator.show(state)

    # --- housekeeping ---------------------------------------------------------------------------------
    def housekeeping(self) -> None:
        """What runs on a timer instead of in each decision: probe the faults and show the standing
        state, persist the trusted-time floor, roll the screen's count over at midnight, refresh the
        screen's status. `start_housekeeping` runs it every second; sync rounds run it too."""
        self.clock.persist_floor()
        faults = self.faults()
        self._set_standing(faults)
        reading = self.clock.read()
        bundle = self.store.bundle
        today = _local_day(bundle, reading)
        if today is not None and today != self.board.counting_day():
            with self._serve_lock:
                self._count_day(today)
        self.board.set_status(self._status(reading, bundle, faults, today))

    def start_housekeeping(self, period_s: float = 1.0) -> None:
        def run() -> None:
            while not self._closing.wait(period_s):
                try:
                    self.housekeeping()
                except Exception:  # a bug here must not end the faults' refresh for good
                    log.exception("housekeeping")

        self._housekeeper = threading.Thread(target=run, name="housekeeping", daemon=True)
        self._housekeeper.start()

    def _count_day(self, day: int) -> None:
        """Today's meals per slot from the journal; the caller holds the serve lock, so no meal comes
        between the count and the switch."""
        try:
            counts = self.journal.served_counts(day)
        except JournalError as e:  # a failing journal shows as JOURNAL_FAULT; the screen counts from 0
            log.warning("cannot count today's meals: %s", e)
            counts = {}
        self.board.new_day(day, counts)

    def _status(
        self, reading: TimeReading, bundle: Bundle | None, faults: list[str], today: int | None
    ) -> Status:
        status = Status(
            now_ms=reading.wall_ms,
            standing=_standing_of(faults).value,
            faults=tuple(faults),
            clock=reading.status.value,
            online=self._online,
            last_contact_ms=self._last_contact_ms,
            backlog=self._backlog,
        )
        if bundle is None:
            return status
        cal = bundle.calendar
        slots: tuple[SlotTimes, ...] = ()
        current = None
        if today is not None:
            served_today = set(cal.days.get(today, ()))
            slots = tuple(
                SlotTimes(s.slot_id, s.start_minute, s.end_minute)
                for s in cal.slots
                if s.slot_id in served_today
            )
            minute = local_day_minute(reading.unix_s, cal.utc_offset_minutes)[1]
            current = next((s.slot for s in slots if s.start_minute <= minute < s.end_minute), None)
        return replace(
            status,
            allowlist_generated_ms=bundle.generated_at * 1000,
            allowlist_valid_until_ms=bundle.valid_until * 1000,
            allowlist_stale_until_ms=(bundle.valid_until + self.cfg.rules.stale_grace_s) * 1000,
            utc_offset_minutes=cal.utc_offset_minutes,
            today=today,
            slots=slots,
            current_slot=current,
        )

    def _load_board(self) -> None:
        """The last ten decisions from the journal, so a restart does not blank the screen."""
        view = self.store.view
        try:
            records = self.journal.latest(RECENT)
        except JournalError as e:
            log.warning("cannot read the journal for the screen: %s", e)
            records = []
        self.board.load([_shown_of(r, view) for r in records])

    # --- sync -----------------------------------------------------------------------------------------
    @property
    def sync(self) -> SyncClient:
        if self._sync is None:
            from .sync import SyncClient
            from .uploader import Backoff, Uploader

            rules = self.cfg.rules
            self._sync = SyncClient(
                terminal_id=self.cfg.terminal_id,
                key=self._key,
                store=self.store,
                clock=self.clock,
                journal=self.journal,
                uploader=Uploader(
                    self.journal,
                    self._key,
                    self.cfg.terminal_id,
                    batch_size=rules.upload_batch_size,
                    backoff=Backoff(rules.retry_attempts, rules.retry_base_s, rules.retry_cap_s),
                    now_s=lambda: self.clock.read().unix_s,
                    sleep=self._sleep,
                ),
                leeway_s=rules.signed_object_leeway_s,
                prune_after_days=rules.prune_after_days,
                software_version=SOFTWARE_VERSION,
                faults=self.faults,
            )
        return self._sync

    def sync_once(self, client: httpx.Client) -> SyncReport:
        return self._after_sync(self.sync.sync_once(client))

    def start_background_sync(self, client_factory: Callable[[], httpx.Client]) -> None:
        from .sync import SyncWorker

        client = client_factory()
        sync = self.sync  # made here, before the thread exists
        self._worker = SyncWorker(
            lambda: self._after_sync(sync.sync_once(client)), self.cfg.rules.sync_interval_s
        )
        self._worker.start()

    def _after_sync(self, report: SyncReport) -> SyncReport:
        self._online = report.reached_server
        if report.reached_server:
            self._last_contact_ms = self.clock.read().wall_ms
        try:
            self._backlog = self.journal.pending_count()
        except JournalError:
            pass  # the fault shows through the journal's next write
        self.housekeeping()
        return report

    def close(self) -> None:
        self._closing.set()
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        if self._housekeeper is not None:
            self._housekeeper.join(5.0)
            self._housekeeper = None
        self.clock.persist_floor()
        self.journal.close()


def _standing_of(faults: list[str]) -> IndicatorState:
    if SERVING_STOPS.intersection(faults):
        return IndicatorState.FAULT
    return IndicatorState.WARNING if faults else IndicatorState.IDLE


def _local_day(bundle: Bundle | None, reading: TimeReading) -> int | None:
    if bundle is None or not reading.usable:
        return None
    return local_day_minute(reading.unix_s, bundle.calendar.utc_offset_minutes)[0]


def _shown_of(r: MealEvent, view: AllowlistView | None) -> Shown:
    """A journaled record as the screen shows it; who it was comes from the allowlist held now."""
    entry = view.by_voucher.get(r.voucher_id) if view is not None and r.voucher_id is not None else None
    plan = entry.plan if entry else None
    price, family = priced(None if view is None else view.bundle.calendar, r.served, plan, r.slot, r.day)
    return Shown(
        seq=r.seq,
        at_ms=r.wall_ms,
        method=METHOD_NAMES.get(int(r.method), "qr"),
        served=r.served,
        reason=None if r.served else r.reason,
        display=entry.display if entry else "",
        plan=plan,
        price_tiyn=price,
        family_tiyn=family,
        slot=r.slot,
        day=r.day,
    )

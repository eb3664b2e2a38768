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
term.standing()                             # IndicatorState the terminal rests in (IDLE, WARNING, FAULT)
term.faults()                               # e.g. ["ALLOWLIST_STALE", "CLOCK_UNTRUSTED"], also sent in health
term.close()
```

`present_*` appends the decision to the journal, then shows SERVED or REFUSED on the indicator, and
never raises for bad input or a full disk (REFUSE with a DeviceReason). `sync_once` fetches the trust
list, signed time and allowlist, uploads pending records and posts health; failures are in the report.
Files in `cfg.data_dir`: trust_list.cose, allowlist.cose (as provisioning writes them),
journal.sqlite3 (+ -wal), trusted_time.json.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from shared_crypto import SigningKey, VerifyKey

from . import SOFTWARE_VERSION
from .allowlist_store import AllowlistStore, Freshness
from .clock import SystemClock, TimeStatus, TrustedClock
from .config import DeviceConfig
from .engine import Engine
from .interfaces import CardRead, Clock, Indicator, IndicatorState, Verdict
from .journal import Journal
from .sim.indicator import PrintingIndicator

if TYPE_CHECKING:  # httpx and the sync code load on the first sync: serving starts sooner after a power cut
    import httpx

    from .sync import SyncClient, SyncReport, SyncWorker

log = logging.getLogger(__name__)


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
        self._key = key
        self._sleep = sleep or self._closing.wait
        self._sync: SyncClient | None = None
        self._worker: SyncWorker | None = None
        self._standing: IndicatorState | None = None
        self._serve_lock = threading.Lock()  # camera and card threads: one decision at a time
        self._indicator_lock = threading.RLock()  # the sync thread may change the standing state too
        self._fault_sources: list[Callable[[], str | None]] = []
        self._refresh_standing()

    @classmethod
    def from_config(
        cls,
        cfg: DeviceConfig,
        *,
        clock: Clock | None = None,
        indicator: Indicator | None = None,
        sleep: Callable[[float], object] | None = None,
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
        )

    # --- serving --------------------------------------------------------------------------------------
    def present_qr(self, text: str) -> Verdict:
        with self._serve_lock:
            return self._show(self.engine.present_qr(text))

    def present_card(self, read: CardRead) -> Verdict:
        with self._serve_lock:
            return self._show(self.engine.present_card(read))

    def _show(self, verdict: Verdict) -> Verdict:
        with self._indicator_lock:
            self._refresh_standing()  # first: a standing change after the pattern would cut it short
            self.indicator.show(IndicatorState.SERVED if verdict.served else IndicatorState.REFUSED)
        return verdict

    # --- state ----------------------------------------------------------------------------------------
    def add_fault_source(self, source: Callable[[], str | None]) -> None:
        """A driver's health (e.g. the NFC reader's current fault): a code while faulty, else None."""
        self._fault_sources.append(source)
        self._refresh_standing()

    def refresh_standing(self) -> None:
        """Re-read the faults and show the standing state if it changed (a driver fault came or went)."""
        self._refresh_standing()

    def faults(self) -> list[str]:
        out: list[str] = [code for code in (source() for source in self._fault_sources) if code]
        fault = self.engine.journal_fault
        if fault is not None:
            out.append("JOURNAL_FULL" if fault.full else "JOURNAL_FAULT")
        reading = self.clock.read()
        if reading.status is TimeStatus.UNKNOWN:
            out.append("CLOCK_UNKNOWN")
        elif reading.status is TimeStatus.UNTRUSTED:
            out.append("CLOCK_UNTRUSTED")
        freshness = self.store.freshness(reading.unix_s) if reading.usable else None
        if self.store.bundle is None:
            out.append("NO_ALLOWLIST")
        elif freshness is Freshness.STALE:
            out.append("ALLOWLIST_STALE")
        elif freshness is Freshness.EXPIRED:
            out.append("ALLOWLIST_EXPIRED")
        try:
            if shutil.disk_usage(self.cfg.data_dir).free < self.cfg.rules.disk_warning_bytes:
                out.append("DISK_LOW")
        except OSError:
            out.append("DISK_UNREADABLE")
        return out

    def standing(self) -> IndicatorState:
        """FAULT when nothing can be served; WARNING when serving goes on with a caveat; else IDLE."""
        faults = set(self.faults())
        if faults & {"JOURNAL_FULL", "JOURNAL_FAULT", "NO_ALLOWLIST", "ALLOWLIST_EXPIRED"}:
            return IndicatorState.FAULT
        if faults:
            return IndicatorState.WARNING
        return IndicatorState.IDLE

    def _refresh_standing(self) -> None:
        state = self.standing()
        with self._indicator_lock:
            if state is not self._standing:
                self._standing = state
                self.indicator.show(state)

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
        report = self.sync.sync_once(client)
        self._refresh_standing()
        return report

    def start_background_sync(self, client_factory: Callable[[], httpx.Client]) -> None:
        from .sync import SyncWorker

        client = client_factory()
        sync = self.sync  # made here, before the thread exists

        def round_() -> None:
            sync.sync_once(client)
            self._refresh_standing()

        self._worker = SyncWorker(round_, self.cfg.rules.sync_interval_s)
        self._worker.start()

    def close(self) -> None:
        self._closing.set()
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        self.journal.close()

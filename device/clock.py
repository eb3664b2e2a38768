"""Trusted time for a terminal that may boot without a battery clock.

Trusted time comes from a signed time answer (shared_crypto.verify_time, nonce-bound) or, where one is
fitted, an RTC. The terminal keeps the last trusted time on flash (the *floor*) and:

- after a signed answer this boot: time = that answer + monotonic time elapsed since (TRUSTED);
  the anchor is kept on flash with the boot id, so a restarted process in the same boot keeps it;
- with an RTC: the system clock, if not behind the floor (TRUSTED);
- without either: the system clock, if not behind the floor (UNTRUSTED: used, but journaled as such);
- a system clock behind the floor, or no floor at all without an RTC: UNKNOWN, and every
  time-dependent check refuses with CLOCK_UNKNOWN.
"""

from __future__ import annotations

import enum
import json
import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_write
from .interfaces import Clock

log = logging.getLogger(__name__)
# An RTC that has never been checked against signed time is believed only from this date on
# (2025-01-01 UTC): a DS3231 with a flat cell restarts at 2000-01-01.
RTC_PLAUSIBLE_FROM_MS = 1_735_689_600_000


class TimeStatus(enum.StrEnum):
    TRUSTED = "TRUSTED"
    UNTRUSTED = "UNTRUSTED"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class TimeReading:
    status: TimeStatus
    wall_ms: int  # best estimate; for UNKNOWN the raw system clock, journaled but never used for rules
    mono_ns: int
    boot_id: bytes

    @property
    def usable(self) -> bool:
        return self.status is not TimeStatus.UNKNOWN

    @property
    def trusted(self) -> bool:
        return self.status is TimeStatus.TRUSTED

    @property
    def unix_s(self) -> int:
        return self.wall_ms // 1000


class SystemClock:
    """The real sources: time.time(), CLOCK_BOOTTIME (keeps counting through suspend), the kernel boot id."""

    def __init__(self, boot_id_path: Path = Path("/proc/sys/kernel/random/boot_id")) -> None:
        try:
            self._boot_id = uuid.UUID(boot_id_path.read_text().strip()).bytes
        except (OSError, ValueError):
            # Not Linux: a per-process id, which only makes anchors shorter-lived, never wrong.
            self._boot_id = uuid.uuid4().bytes

    def wall(self) -> float:
        return time.time()

    def monotonic_ns(self) -> int:
        return time.clock_gettime_ns(time.CLOCK_BOOTTIME)

    def boot_id(self) -> bytes:
        return self._boot_id


@dataclass(frozen=True, slots=True)
class _Anchor:
    boot_id: bytes
    wall_ms: int
    mono_ns: int


class TrustedClock:
    def __init__(
        self, source: Clock, state_file: Path, *, rtc: bool = False, persist_interval_s: float = 60.0
    ) -> None:
        self._src = source
        self._file = state_file
        self._rtc = rtc
        self._persist_interval_ns = int(persist_interval_s * 1e9)
        self._floor_ms: int | None = None
        self._anchor: _Anchor | None = None
        self._persisted_at_ns: int | None = None
        self._persisted_floor_ms: int | None = None
        self._load()

    @property
    def floor_ms(self) -> int | None:
        """The last trusted time, unix ms (None: never had one)."""
        return self._floor_ms

    @property
    def source(self) -> Clock:
        return self._src

    def read(self) -> TimeReading:
        mono = self._src.monotonic_ns()
        boot = self._src.boot_id()
        system_ms = int(self._src.wall() * 1000)
        anchor = self._anchor
        if anchor is not None and anchor.boot_id == boot and mono >= anchor.mono_ns:
            reading = TimeReading(
                TimeStatus.TRUSTED, anchor.wall_ms + (mono - anchor.mono_ns) // 1_000_000, mono, boot
            )
        elif self._floor_ms is None:
            ok = self._rtc and system_ms >= RTC_PLAUSIBLE_FROM_MS
            reading = TimeReading(TimeStatus.TRUSTED if ok else TimeStatus.UNKNOWN, system_ms, mono, boot)
        elif system_ms < self._floor_ms:
            reading = TimeReading(TimeStatus.UNKNOWN, system_ms, mono, boot)  # went back past trusted time
        else:
            status = TimeStatus.TRUSTED if self._rtc else TimeStatus.UNTRUSTED
            reading = TimeReading(status, system_ms, mono, boot)
        if reading.trusted:
            self._advance(reading.wall_ms)
        return reading

    def set_trusted(self, unix_s: float) -> None:
        """Anchor to a verified signed time answer (authoritative: it may also move the floor back,
        which corrects an RTC that ran fast)."""
        wall_ms = int(unix_s * 1000)
        mono = self._src.monotonic_ns()
        self._anchor = _Anchor(self._src.boot_id(), wall_ms, mono)
        self._floor_ms = wall_ms
        self._persist(mono)

    def _advance(self, wall_ms: int) -> None:
        if self._floor_ms is None or wall_ms > self._floor_ms:
            self._floor_ms = wall_ms

    def persist_floor(self) -> bool:
        """Write the floor to flash if it moved and `persist_interval_s` has passed since the last write.
        Called from the terminal's housekeeping timer, never from a decision: the atomic write costs
        two fsyncs, which a meal on a slow SD card must not wait for."""
        mono = self._src.monotonic_ns()
        if self._floor_ms is None or self._floor_ms == self._persisted_floor_ms:
            return False
        if (
            self._persisted_at_ns is not None
            and 0 <= mono - self._persisted_at_ns < self._persist_interval_ns
        ):
            return False
        return self._persist(mono)

    def _persist(self, mono: int) -> bool:
        state: dict[str, object] = {"floor_ms": self._floor_ms}
        if self._anchor is not None:
            a = self._anchor
            state["anchor"] = {"boot_id": a.boot_id.hex(), "wall_ms": a.wall_ms, "mono_ns": a.mono_ns}
        try:
            atomic_write(self._file, json.dumps(state).encode())
        except OSError as e:  # a full or failing disk must not stop serving; the floor stays in memory
            log.warning("cannot persist trusted time to %s: %s", self._file, e)
            return False
        self._persisted_at_ns = mono
        self._persisted_floor_ms = self._floor_ms
        return True

    def _load(self) -> None:
        try:
            state = json.loads(self._file.read_bytes())
            floor = state.get("floor_ms")
            self._floor_ms = self._persisted_floor_ms = floor if isinstance(floor, int) else None
            a = state.get("anchor")
            if isinstance(a, dict) and a.get("boot_id") == self._src.boot_id().hex():
                self._anchor = _Anchor(bytes.fromhex(a["boot_id"]), int(a["wall_ms"]), int(a["mono_ns"]))
        except FileNotFoundError:
            return
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as e:
            # Unreadable state is no trusted time: refuse until the next signed answer, never guess.
            log.warning("trusted-time state %s unreadable (%s); time is unknown until sync", self._file, e)
            self._floor_ms = None
            self._anchor = None

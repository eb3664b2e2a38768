"""A clock the caller moves: wall time, monotonic time and boots are all set by hand."""

from __future__ import annotations

import uuid


class ManualClock:
    """Implements device.interfaces.Clock. `advance` moves both clocks; `set_wall` moves only the
    wall clock (an NTP step or a person with `date`); `reboot` restarts the monotonic clock."""

    def __init__(self, wall: float, *, mono_ns: int = 1_000_000_000) -> None:
        self._wall = wall
        self._mono_ns = mono_ns
        self._boot_id = uuid.uuid4().bytes

    def wall(self) -> float:
        return self._wall

    def monotonic_ns(self) -> int:
        return self._mono_ns

    def boot_id(self) -> bytes:
        return self._boot_id

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time only moves forward; use set_wall for a clock step")
        self._wall += seconds
        self._mono_ns += int(seconds * 1e9)

    def set_wall(self, wall: float) -> None:
        self._wall = wall

    def reboot(self, *, wall: float | None = None) -> None:
        """New boot id, monotonic clock back near zero; the wall clock as the board comes up with it."""
        self._boot_id = uuid.uuid4().bytes
        self._mono_ns = 1_000_000_000
        if wall is not None:
            self._wall = wall

"""Time source passed to every service, so timers and validity windows are testable."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

# Schools keep Almaty time: UTC+5 everywhere in Kazakhstan since 2024-03-01 (tzdata 2024a).
KZ_TZ = ZoneInfo("Asia/Almaty")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to (tests, demo, benchmarks)."""

    def __init__(self, dt: datetime) -> None:
        self._now = _aware_utc(dt)

    def now(self) -> datetime:
        return self._now

    def set(self, dt: datetime) -> None:
        self._now = _aware_utc(dt)

    def advance(self, delta: timedelta) -> None:
        self._now = self._now + delta


def local_date(dt: datetime) -> date:
    """The school-local (Asia/Almaty) calendar date of an instant."""
    return _aware_utc(dt).astimezone(KZ_TZ).date()


def _aware_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("clock times must be timezone-aware")
    return dt.astimezone(UTC)

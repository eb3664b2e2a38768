"""Throttling rules over ThrottleRow: a quota per window, and failures with exponential back-off.

A rule never locks for good: the longest wait is `Rule.cap`, and a window without events forgets the
count. Rows are read under a row lock (SQLite: the BEGIN IMMEDIATE writer lock), so concurrent requests
of one key count once each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.adapters.dialect import insert_ignore
from backend.adapters.locking import for_update

from .tables import ThrottleRow


@dataclass(frozen=True, slots=True)
class Rule:
    """`free` events per `window`; each one past it waits `base`·2ⁿ (n = 0, 1, …), at most `cap`.
    With base == cap it is a plain quota: over it, wait until the window ends or `cap` has passed."""

    name: str
    free: int
    window: timedelta
    base: timedelta
    cap: timedelta

    def key(self, *parts: str) -> str:
        return ":".join((self.name, *parts))[:200]


def _row(session: Session, key: str, now: datetime) -> ThrottleRow:
    insert_ignore(session, ThrottleRow, [{"key": key, "count": 0, "window_start": now}], key="key")
    row = session.scalars(for_update(session, select(ThrottleRow).where(ThrottleRow.key == key))).one()
    session.refresh(row)
    return row


def wait_seconds(session: Session, rule: Rule, key: str, now: datetime) -> int:
    """Seconds until `key` may act again under `rule`; 0 when it may now."""
    row = session.get(ThrottleRow, key)
    if row is None or row.blocked_until is None or row.blocked_until <= now:
        return 0
    return max(1, int((row.blocked_until - now).total_seconds() + 0.999))


def record(session: Session, rule: Rule, key: str, now: datetime) -> int:
    """Count one event (a failure, or a use of a quota); returns the wait it causes (0: none yet)."""
    row = _row(session, key, now)
    if row.window_start + rule.window <= now and (row.blocked_until is None or row.blocked_until <= now):
        row.count, row.window_start, row.blocked_until = 0, now, None
    row.count += 1
    over = row.count - rule.free
    if over <= 0:
        return 0
    wait = min(rule.cap, rule.base * (2 ** min(over - 1, 30)))
    row.blocked_until = now + wait
    return int(wait.total_seconds())


def count(session: Session, key: str, now: datetime, window: timedelta) -> int:
    row = session.get(ThrottleRow, key)
    if row is None or row.window_start + window <= now:
        return 0
    return row.count


def clear(session: Session, key: str) -> None:
    session.execute(delete(ThrottleRow).where(ThrottleRow.key == key))


def prune(session: Session, now: datetime, keep: timedelta = timedelta(days=2)) -> int:
    """Forget keys idle for longer than any rule's window (the worker calls this)."""
    result = session.execute(
        delete(ThrottleRow).where(
            ThrottleRow.window_start < now - keep,
            (ThrottleRow.blocked_until.is_(None)) | (ThrottleRow.blocked_until < now),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)

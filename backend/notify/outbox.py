"""Outbox adapter: a batch's meals are queued as one row per school, written with the meals; a worker
takes rows with `take_queued` and turns their meals into the parents' notices (delivery.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from backend.adapters.locking import for_update

from .tables import MealNoticeBatchRow

EVENT_ID_LEN = 16


@dataclass(frozen=True, slots=True)
class QueuedMeals:
    """Meals of one school waiting for their notices."""

    school_id: int
    event_ids: list[bytes]


class OutboxNotifier:
    """Implements `Notifier`: one outbox row per call, i.e. per stored batch (the caller passes only the
    meals it stored, so a replayed batch queues nothing)."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def meals_served(self, session: Session, school_id: int, event_ids: Sequence[bytes]) -> int:
        if not event_ids:
            return 0
        session.execute(
            insert(MealNoticeBatchRow),
            {
                "school_id": school_id,
                "meals": len(event_ids),
                "event_ids": b"".join(event_ids),
                "created_at": self._now(),
            },
        )
        return len(event_ids)


def take_queued(session: Session, limit: int) -> list[QueuedMeals]:
    """Queued rows, oldest first, until they hold `limit` meals or none are left; deleted in the
    caller's transaction. A row another worker's transaction holds is skipped (PostgreSQL: FOR UPDATE
    SKIP LOCKED), and a taken row is gone, so no two workers take the same meals; if the caller's
    transaction fails, its rows are queued again."""
    taken: list[QueuedMeals] = []
    meals = 0
    table = MealNoticeBatchRow
    while meals < limit:
        oldest = for_update(session, select(table.id).order_by(table.id).limit(1), skip_locked=True)
        row = session.execute(
            delete(table)
            .where(table.id.in_(oldest.scalar_subquery()))
            .returning(table.school_id, table.meals, table.event_ids)
            .execution_options(synchronize_session=False)
        ).first()
        if row is None:
            break
        school_id, n, blob = row
        ids = [blob[i : i + EVENT_ID_LEN] for i in range(0, len(blob), EVENT_ID_LEN)]
        assert len(ids) == n
        taken.append(QueuedMeals(school_id, ids))
        meals += n
    return taken

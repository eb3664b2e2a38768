"""Outbox adapter: notices are rows written with the meal; a sender delivers and marks them later."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.adapters.dialect import among, insert_ignore
from backend.adapters.locking import for_update
from backend.roster.tables import Guardianship, Parent, Pupil

from .model import MealNotice, meal_text, pick_guardian
from .tables import NoticeRow

KIND_MEAL = "meal_served"


class OutboxNotifier:
    """Implements `Notifier`: one outbox row per meal event (unique event id, insert-or-ignore)."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def meals_served(self, session: Session, notices: Sequence[MealNotice]) -> int:
        if not notices:
            return 0
        pupil_ids = sorted({n.pupil_id for n in notices})
        guardians: dict[int, list[tuple[int, str, bool]]] = defaultdict(list)
        languages: dict[int, str] = {}
        displays: dict[int, str] = {}
        for pupil_id, display in session.execute(
            select(Pupil.id, Pupil.display).where(among(session, Pupil.id, pupil_ids))
        ):
            displays[pupil_id] = display
        for pupil_id, guardian_id, role, phone, language in session.execute(
            select(Guardianship.pupil_id, Parent.id, Guardianship.role, Parent.phone, Parent.language)
            .join(Parent, Parent.id == Guardianship.parent_id)
            .where(among(session, Guardianship.pupil_id, pupil_ids))
        ):
            guardians[pupil_id].append((guardian_id, role, phone is not None))
            languages[guardian_id] = language
        now = self._now()
        rows = []
        for n in notices:
            parent_id = pick_guardian(guardians.get(n.pupil_id, ()))
            language = languages.get(parent_id, "kk+ru") if parent_id is not None else "kk+ru"
            rows.append(
                {
                    "event_id": n.event_id,
                    "school_id": n.school_id,
                    "kind": KIND_MEAL,
                    "voucher_id": n.voucher_id,
                    "pupil_id": n.pupil_id,
                    "parent_id": parent_id,
                    "body": meal_text(language, displays.get(n.pupil_id, ""), n.served_at),
                    "created_at": now,
                    "sent_at": None,
                    "attempts": 0,
                }
            )
        return len(insert_ignore(session, NoticeRow, rows, key="event_id"))


def pending(session: Session, limit: int = 500) -> list[NoticeRow]:
    """Unsent notices, row-locked until the caller's transaction ends; rows another sender holds are
    skipped, so two senders never hand the same notice on."""
    stmt = select(NoticeRow).where(NoticeRow.sent_at.is_(None)).order_by(NoticeRow.id).limit(limit)
    return list(session.scalars(for_update(session, stmt, skip_locked=True)))


def deliver(session: Session, send: Callable[[NoticeRow], bool], now: datetime, limit: int = 500) -> int:
    """Hand pending notices to a channel (push, SMS…); `send` returns False to retry later."""
    sent = 0
    for row in pending(session, limit):
        row.attempts += 1
        if send(row):
            row.sent_at = now
            sent += 1
    return sent


def notified_at(session: Session, event_ids: Sequence[bytes]) -> dict[bytes, datetime | None]:
    """For each meal event with a notice: when it went out (None while it waits)."""
    if not event_ids:
        return {}
    stmt = select(NoticeRow.event_id, NoticeRow.sent_at).where(
        among(session, NoticeRow.event_id, list(event_ids))
    )
    return {event_id: sent_at for event_id, sent_at in session.execute(stmt)}

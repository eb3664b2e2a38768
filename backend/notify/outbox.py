"""Outbox adapter: notices are rows written with the meal; a sender delivers and marks them later."""

from __future__ import annotations

import string
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.adapters.dialect import among, insert_ignore
from backend.adapters.locking import for_update
from backend.clock import KZ_TZ
from backend.roster.tables import Guardianship, Parent, Pupil

from .model import BOTH_LANGUAGES, GUARDIAN_ORDER, MEAL_TEXTS, MealNotice, meal_text, pick_guardian
from .tables import NoticeRow

KIND_MEAL = "meal_served"


def _concat(template: str, fields: dict[str, str]) -> str:
    """A text template as a SQL expression: its literal parts quoted, its {fields} as SQL."""
    parts = []
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            parts.append("'" + literal.replace("'", "''").replace("%", "%%") + "'")
        if name:
            parts.append(fields[name])
    return "(" + " || ".join(parts) + ")"


def _outbox_sql() -> str:
    """PostgreSQL: a batch's notices in one INSERT … SELECT. The guardian is picked and the words are
    written in SQL by the same rules as pick_guardian and meal_text (one phone first, then the role
    order, then the lowest id; the parent's language) from the same templates; the local time is
    PostgreSQL's for KZ_TZ (the tests compare it with Python's)."""
    local = f"(u.served_at AT TIME ZONE '{KZ_TZ.key}')"
    fields = {
        # a scalar subquery: one index probe per notice whatever the planner thinks of the table's size
        "display": f"coalesce((SELECT display FROM {Pupil.__tablename__} WHERE id = u.pupil_id), '')",  # noqa: S608 - our own table name
        "day": f"to_char({local}, 'DD.MM.YYYY')",
        "hour": f"to_char({local}, 'HH24:MI')",
    }
    kk, ru = _concat(MEAL_TEXTS["kk"], fields), _concat(MEAL_TEXTS["ru"], fields)
    both = _concat(BOTH_LANGUAGES, {"kk": kk, "ru": ru})
    role = " ".join(f"WHEN '{r}' THEN {i}" for i, r in enumerate(GUARDIAN_ORDER))
    return (
        f"INSERT INTO {NoticeRow.__tablename__} (event_id, school_id, kind, voucher_id, pupil_id, parent_id,"  # noqa: S608 - names and texts are our own constants
        " body, created_at, sent_at, attempts) "
        f"SELECT u.event_id, u.school_id, '{KIND_MEAL}', u.voucher_id, u.pupil_id, g.id, "
        f"CASE coalesce(g.language, 'kk+ru') WHEN 'kk' THEN {kk} WHEN 'ru' THEN {ru} ELSE {both} END, "
        "%s, NULL, 0 "
        # %b: arrays dumped in binary, several times faster than as text (a bytea array above all)
        "FROM unnest(%b::bytea[], %b::int[], %b::int[], %b::int[], %b::timestamptz[]) "
        "AS u(event_id, voucher_id, pupil_id, school_id, served_at) "
        "LEFT JOIN LATERAL ("
        f"SELECT pa.id, pa.language FROM {Guardianship.__tablename__} gs "
        f"JOIN {Parent.__tablename__} pa ON pa.id = gs.parent_id WHERE gs.pupil_id = u.pupil_id "
        f"ORDER BY pa.phone IS NULL, CASE gs.role {role} ELSE {len(GUARDIAN_ORDER)} END, pa.id LIMIT 1"
        ") g ON true "
        "ON CONFLICT (event_id) DO NOTHING"  # the row count says how many were queued
    )


OUTBOX_SQL = _outbox_sql()


class OutboxNotifier:
    """Implements `Notifier`: one outbox row per meal event (unique event id, insert-or-ignore)."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def meals_served(self, session: Session, notices: Sequence[MealNotice]) -> int:
        if not notices:
            return 0
        if session.get_bind().dialect.name == "postgresql":
            return self._insert_select(session, notices)
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

    def _insert_select(self, session: Session, notices: Sequence[MealNotice]) -> int:
        """One statement, no lookups or words in Python: the ingest's hot path (docs/scale.md)."""
        driver = session.connection().connection.driver_connection
        assert driver is not None
        params = [
            self._now(),
            [n.event_id for n in notices],
            [n.voucher_id for n in notices],
            [n.pupil_id for n in notices],
            [n.school_id for n in notices],
            [n.served_at for n in notices],
        ]
        with driver.cursor() as cur:
            cur.execute(OUTBOX_SQL, params, binary=True)
            return int(cur.rowcount)


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

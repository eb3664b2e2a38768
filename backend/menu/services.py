"""Menu use cases: a school publishes a slot's menu for a day (publishing again replaces it); parents
read their children's schools' menus; a supplier reads the menus of its schools with the ratings of
the meals served under each."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth.model import Principal
from backend.calendar.services import load_calendar
from backend.errors import DomainError, not_found
from backend.feedback.services import slot_ratings
from backend.ingest import queries as ingest_queries
from backend.roster.tables import Pupil
from backend.unit_of_work import UnitOfWork

from .model import Dish, MenuReason, check_dishes
from .tables import MenuRow

MAX_DAYS = 62


@dataclass(frozen=True, slots=True)
class MenuEntry:
    school_id: int
    day: date
    slot: int
    dishes: tuple[Dish, ...]


def _entry(row: MenuRow) -> MenuEntry:
    dishes = tuple(Dish(d["kk"], d["ru"], tuple(d["allergens"])) for d in json.loads(row.dishes_json))
    return MenuEntry(row.school_id, row.day, row.slot, dishes)


def publish(
    uow: UnitOfWork,
    principal: Principal,
    school_id: int,
    day: date,
    slot: int,
    raw: list[object],
    now: datetime,
) -> MenuEntry:
    session = uow.session
    if school_id not in principal.school_ids:
        raise not_found("school")
    if slot not in {s.slot for s in load_calendar(session, school_id).slots}:
        raise DomainError(MenuReason.SLOT_UNKNOWN, f"the school has no meal slot {slot}")
    dishes = check_dishes(raw)
    body = json.dumps([d.to_json() for d in dishes], ensure_ascii=False)
    row = session.scalars(
        select(MenuRow).where(MenuRow.school_id == school_id, MenuRow.day == day, MenuRow.slot == slot)
    ).first()
    if row is None:
        row = MenuRow(school_id=school_id, day=day, slot=slot)
        session.add(row)
    row.dishes_json, row.published_by, row.published_at = body, principal.id, now
    uow.commit()
    return _entry(row)


def menus(session: Session, school_ids: Collection[int], start: date, days: int) -> list[MenuEntry]:
    if not 1 <= days <= MAX_DAYS:
        raise DomainError(MenuReason.RANGE_TOO_LONG, f"ask for 1 to {MAX_DAYS} days")
    stmt = (
        select(MenuRow)
        .where(
            MenuRow.school_id.in_(sorted(school_ids)),
            MenuRow.day >= start,
            MenuRow.day < start + timedelta(days=days),
        )
        .order_by(MenuRow.day, MenuRow.school_id, MenuRow.slot)
    )
    return [_entry(r) for r in session.scalars(stmt)]


def for_parent(session: Session, parent: Principal, pupil_id: int, start: date, days: int) -> list[MenuEntry]:
    """The menu of the child's school (404 for a child that is not theirs)."""
    if pupil_id not in parent.pupil_ids:
        raise not_found("child")
    school_id = session.scalar(select(Pupil.school_id).where(Pupil.id == pupil_id))
    return menus(session, [school_id] if school_id is not None else [], start, days)


@dataclass(frozen=True, slots=True)
class RatedMenu:
    menu: MenuEntry
    ratings: int
    average_x100: int | None  # stars × 100, integer


def rated(session: Session, school_ids: Collection[int], start: date, days: int) -> list[RatedMenu]:
    """Each menu of these schools with the ratings of meals served in that slot that day: what a
    supplier's ratings refer to."""
    entries = menus(session, school_ids, start, days)
    out = []
    for m in entries:
        n, total = slot_ratings(session, ingest_queries.slot_meal_ids(session, m.school_id, m.day, m.slot))
        out.append(RatedMenu(m, n, (total * 100) // n if n else None))
    return out

"""Eligibility categories as data: the order's three are seeded by the migration, others are added
(e.g. families affected by an emergency); each says which plan it gives. Categories are national: every
district's lists use the same ones, and no staff role is national, so they are read by any staff role
(API and console) and changed only by the operator's `python -m backend categories add|retire`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.adapters.bulk import chunks
from backend.errors import DomainError
from backend.roster.grades import Plan
from backend.unit_of_work import UnitOfWork

from .model import Category, ListReason
from .tables import EligibilityCategoryRow, EligibilityEntry, EligibilityList

CODE = re.compile(r"^[a-z][a-z0-9_]{1,29}$")


@dataclass(frozen=True, slots=True)
class CategoryInfo:
    code: str
    name_kk: str
    name_ru: str
    plan: Plan
    in_register: bool
    active: bool


def _info(row: EligibilityCategoryRow) -> CategoryInfo:
    return CategoryInfo(row.code, row.name_kk, row.name_ru, Plan(row.plan), row.in_register, row.active)


# The order's three (also seeded as rows by the migration): in force even where a database lost its rows,
# and a district's row of the same code overrides them.
ORDER = {
    c.value: CategoryInfo(c.value, kk, ru, Plan.FREE, True, True)
    for c, kk, ru in (
        (Category.TARGETED_ASSISTANCE, "Атаулы әлеуметтік көмек алатын отбасылар", "Семьи, получающие АСП"),
        (Category.BELOW_SUBSISTENCE, "Табысы ең төмен күнкөріс деңгейінен төмен отбасылар", "Доход ниже ПМ"),
        (Category.ORPHAN_NO_CARE, "Жетім балалар, ата-ана қамқорлығынсыз қалған балалар", "Дети-сироты"),
    )
}


def all_categories(session: Session) -> dict[str, CategoryInfo]:
    rows = session.scalars(select(EligibilityCategoryRow).order_by(EligibilityCategoryRow.code))
    return dict(sorted({**ORDER, **{r.code: _info(r) for r in rows}}.items()))


def require_category(session: Session, code: str) -> CategoryInfo:
    """A category a pupil may be listed under now; anything else is CATEGORY_UNKNOWN."""
    info = all_categories(session).get(code)
    if info is None or not info.active:
        raise DomainError(ListReason.CATEGORY_UNKNOWN, f"no active category {code!r}")
    return info


def put_category(
    uow: UnitOfWork, code: str, *, name_kk: str, name_ru: str, plan: int, in_register: bool, active: bool
) -> CategoryInfo:
    """Adds or changes a category (the operator's command line). Vouchers already formed keep their plan."""
    if not CODE.match(code):
        raise DomainError(ListReason.CATEGORY_CODE_INVALID, "a code is 2–30 of a-z, 0-9, _ from a letter")
    if plan not in (Plan.FREE, Plan.DISCOUNTED):
        raise DomainError(ListReason.PLAN_UNKNOWN, f"plan {plan} is neither 1 (free) nor 2 (discounted)")
    if not name_kk.strip() or not name_ru.strip():
        raise DomainError(ListReason.CATEGORY_NAME_MISSING, "a category needs its Kazakh and Russian names")
    session = uow.session
    row = session.get(EligibilityCategoryRow, code)
    if row is None:
        row = EligibilityCategoryRow(code=code)
        session.add(row)
    row.name_kk, row.name_ru, row.plan = name_kk.strip()[:200], name_ru.strip()[:200], plan
    row.in_register, row.active = in_register, active
    uow.commit()
    return _info(row)


def plans_for(session: Session, pupil_ids: Iterable[int], school_year: int) -> dict[int, int]:
    """The plan each pupil's category gives (their latest confirmed entry of the school year); a pupil
    listed without a category (grades 1–4) or under an unknown one is left out (FREE)."""
    categories = all_categories(session)
    out: dict[int, int] = {}
    for chunk in chunks(sorted(set(pupil_ids))):
        stmt = (
            select(EligibilityEntry.pupil_id, EligibilityEntry.category)
            .join(EligibilityList, EligibilityList.id == EligibilityEntry.list_id)
            .where(
                EligibilityEntry.pupil_id.in_(chunk),
                EligibilityEntry.result == "confirmed",
                EligibilityList.month >= date(school_year, 6, 1),
                EligibilityList.month < date(school_year + 1, 6, 1),
            )
            .order_by(EligibilityList.month, EligibilityEntry.id)
        )
        for pupil_id, code in session.execute(stmt):
            info = categories.get(code) if code else None
            if info is not None:
                out[pupil_id] = int(info.plan)
    return out


def retire_category(uow: UnitOfWork, code: str) -> CategoryInfo:
    """No pupil may be listed under it from now on; entries and vouchers made under it keep it (a list
    shows its name, the plan stays). `put_category` with active=True brings it back."""
    info = all_categories(uow.session).get(code)
    if info is None:
        raise DomainError(ListReason.CATEGORY_UNKNOWN, f"no category {code!r}")
    return put_category(
        uow,
        code,
        name_kk=info.name_kk,
        name_ru=info.name_ru,
        plan=int(info.plan),
        in_register=info.in_register,
        active=False,
    )

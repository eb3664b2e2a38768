"""Admin API for a school's pupils and its monthly eligibility lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from backend.api_types import Id, IdPath, Month
from backend.auth import Principal, Role, ensure_school, require_admin
from backend.auth.visibility import sees_personal_data
from backend.deps import CtxDep, UowDep
from backend.roster.services import pupils_of_school

from . import services
from .model import parse_month
from .tables import EligibilityList

router = APIRouter(prefix="/api/admin/v1", tags=["eligibility"])

AnyAdmin = Annotated[Principal, Depends(require_admin())]
Pedagogue = Annotated[Principal, Depends(require_admin(Role.SOCIAL_PEDAGOGUE))]
Head = Annotated[Principal, Depends(require_admin(Role.SCHOOL_HEAD))]


class ListIn(BaseModel):
    month: Month


class EntryIn(BaseModel):
    pupil_id: Id
    # a code of `GET /api/admin/v1/eligibility-categories` (CATEGORY_UNKNOWN otherwise)
    category: str | None = Field(default=None, max_length=30)


class ListOut(BaseModel):
    id: int
    school_id: int
    month: str
    status: str
    return_comment: str | None = None


class EntryOut(BaseModel):
    pupil_id: int
    full_name: str | None  # None for roles without personal data (backend.auth.visibility)
    display: str  # initials and class, as terminals show it
    grade: int
    class_name: str
    category: str | None  # None for roles without personal data
    result: str | None
    reason: str | None


class ListDetail(ListOut):
    entries: list[EntryOut]


class PupilOut(BaseModel):
    id: int
    full_name: str | None  # None for roles without personal data (backend.auth.visibility)
    display: str  # initials and class, as terminals show it
    grade: int
    class_name: str


def _list_out(x: EligibilityList) -> ListOut:
    return ListOut(
        id=x.id,
        school_id=x.school_id,
        month=f"{x.month:%Y-%m}",
        status=x.status,
        return_comment=x.return_comment,
    )


@router.get("/schools/{school_id}/pupils")
def school_pupils(school_id: IdPath, principal: AnyAdmin, uow: UowDep) -> list[PupilOut]:
    ensure_school(principal, school_id)
    named = sees_personal_data(principal)
    return [
        PupilOut(
            id=p.id,
            full_name=p.full_name if named else None,
            display=p.display,
            grade=p.grade,
            class_name=p.class_name,
        )
        for p in pupils_of_school(uow.session, school_id)
    ]


@router.get("/schools/{school_id}/eligibility-lists")
def school_lists(school_id: IdPath, principal: AnyAdmin, uow: UowDep) -> list[ListOut]:
    ensure_school(principal, school_id)
    return [_list_out(x) for x in services.lists_of_school(uow.session, school_id)]


@router.post("/schools/{school_id}/eligibility-lists", status_code=201)
def create_list(school_id: IdPath, body: ListIn, principal: Pedagogue, uow: UowDep) -> ListOut:
    return _list_out(services.create_list(uow, principal, school_id, parse_month(body.month)))


@router.post("/eligibility-lists/{list_id}/entries", status_code=201)
def add_entry(list_id: IdPath, body: EntryIn, principal: Pedagogue, uow: UowDep) -> dict[str, int]:
    services.add_entry(uow, principal, list_id, body.pupil_id, body.category)
    return {"pupil_id": body.pupil_id}


@router.delete("/eligibility-lists/{list_id}/entries/{pupil_id}", status_code=204)
def remove_entry(list_id: IdPath, pupil_id: IdPath, principal: Pedagogue, uow: UowDep) -> None:
    services.remove_entry(uow, principal, list_id, pupil_id)


@router.post("/eligibility-lists/{list_id}/approve")
def approve(list_id: IdPath, principal: Head, ctx: CtxDep, uow: UowDep) -> ListOut:
    return _list_out(services.approve(uow, principal, list_id, ctx.clock.now()))


@router.post("/eligibility-lists/{list_id}/copy-previous")
def copy_previous(list_id: int, principal: Pedagogue, uow: UowDep) -> dict[str, int]:
    return {"added": services.copy_previous(uow, principal, list_id)}


class ClassIn(BaseModel):
    class_name: str = Field(min_length=1, max_length=20)
    # a code of `GET /api/admin/v1/eligibility-categories` (CATEGORY_UNKNOWN otherwise)
    category: str | None = Field(default=None, max_length=30)


@router.post("/eligibility-lists/{list_id}/classes")
def add_class(list_id: int, body: ClassIn, principal: Pedagogue, uow: UowDep) -> dict[str, int]:
    return {"added": services.add_class(uow, principal, list_id, body.class_name, body.category)}


@router.get("/eligibility-lists/{list_id}")
def get_list(list_id: IdPath, principal: AnyAdmin, uow: UowDep) -> ListDetail:
    lst, rows = services.list_entries(uow.session, principal, list_id)
    named = sees_personal_data(principal)
    return ListDetail(
        id=lst.id,
        school_id=lst.school_id,
        month=f"{lst.month:%Y-%m}",
        status=lst.status,
        entries=[
            EntryOut(
                pupil_id=p.id,
                full_name=p.full_name if named else None,
                display=p.display,
                grade=p.grade,
                class_name=p.class_name,
                category=e.category if named else None,
                result=e.result,
                reason=e.reason,
            )
            for e, p in rows
        ],
    )

"""The district admin's staff accounts and suppliers over HTTP (the console's pages call the same
services): create, deactivate, reactivate, reset; suppliers with bank details and their school links."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from backend.auth import Principal, Role, require_admin
from backend.auth import accounts as acc
from backend.clock import local_date
from backend.deps import CtxDep, UowDep
from backend.roster import suppliers as sup

router = APIRouter(prefix="/api/admin/v1", tags=["admin"])

District = Annotated[Principal, Depends(require_admin(Role.DISTRICT_ADMIN))]


def district_of(principal: Principal) -> str:
    assert principal.district is not None  # require_admin(DISTRICT_ADMIN); create_admin insists on one
    return principal.district


class AccountIn(BaseModel):
    login: str = Field(min_length=1, max_length=60)
    role: Role
    school_ids: list[int] = Field(default_factory=list, max_length=500)
    supplier_id: int | None = None


class NewAccountOut(BaseModel):
    id: int
    login: str
    temporary_password: str


@router.get("/accounts")
def list_accounts(
    principal: District,
    uow: UowDep,
    q: Annotated[str, Query(max_length=60)] = "",
    role: Role | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> dict[str, Any]:
    found = acc.accounts(uow.session, principal, query=q, role=role.value if role else "", page=page)
    return {
        "total": found.total,
        "page": found.page,
        "pages": found.pages,
        "accounts": [
            {
                "id": r.id,
                "login": r.login,
                "role": r.role,
                "active": r.active,
                "totp": r.totp,
                "schools": r.schools,
                "supplier": r.supplier,
            }
            for r in found.rows
        ],
    }


@router.post("/accounts", status_code=201)
def create_account(body: AccountIn, principal: District, ctx: CtxDep, uow: UowDep) -> NewAccountOut:
    new = acc.create_account(
        uow,
        principal,
        login=body.login,
        role=body.role,
        school_ids=body.school_ids,
        supplier_id=body.supplier_id,
        now=ctx.clock.now(),
    )
    return NewAccountOut(id=new.admin_id, login=new.login, temporary_password=new.password)


@router.post("/accounts/{admin_id}/deactivate")
def deactivate(admin_id: int, principal: District, uow: UowDep) -> dict[str, Any]:
    a = acc.set_active(uow, principal, admin_id, active=False)
    return {"id": a.id, "active": a.active}


@router.post("/accounts/{admin_id}/activate")
def activate(admin_id: int, principal: District, uow: UowDep) -> dict[str, Any]:
    a = acc.set_active(uow, principal, admin_id, active=True)
    return {"id": a.id, "active": a.active}


@router.post("/accounts/{admin_id}/reset")
def reset(admin_id: int, principal: District, uow: UowDep) -> NewAccountOut:
    new = acc.reset_password(uow, principal, admin_id)
    return NewAccountOut(id=new.admin_id, login=new.login, temporary_password=new.password)


class SupplierBody(BaseModel):
    bin: str = Field(max_length=20)
    name: str = Field(max_length=300)
    iban: str = Field(max_length=40)
    bank_bik: str = Field(max_length=20)
    bank_name: str = Field(default="", max_length=200)

    def data(self) -> sup.SupplierIn:
        return sup.SupplierIn(self.bin, self.name, self.iban, self.bank_bik, self.bank_name)


def _supplier_json(s: Any, serving: list[tuple[int, str]] | None = None) -> dict[str, Any]:
    out = {
        "id": s.id,
        "bin": s.bin,
        "name": s.name,
        "iban": s.iban,
        "bank_bik": s.bank_bik,
        "bank_name": s.bank_name,
    }
    if serving is not None:
        out["serving_today"] = [{"school_id": sid, "name": name} for sid, name in serving]
    return out


@router.get("/suppliers")
def list_suppliers(principal: District, ctx: CtxDep, uow: UowDep) -> list[dict[str, Any]]:
    """The district's suppliers, each with the district's schools it serves today."""
    serving = sup.serving_today(uow.session, principal.school_ids, local_date(ctx.clock.now()))
    return [
        _supplier_json(s, serving.get(s.id, []))
        for s in sup.suppliers_of_district(uow.session, district_of(principal))
    ]


@router.post("/suppliers", status_code=201)
def create_supplier(body: SupplierBody, principal: District, uow: UowDep) -> dict[str, Any]:
    return _supplier_json(sup.create_supplier(uow, district_of(principal), body.data()))


@router.put("/suppliers/{supplier_id}")
def update_supplier(supplier_id: int, body: SupplierBody, principal: District, uow: UowDep) -> dict[str, Any]:
    return _supplier_json(sup.update_supplier(uow, district_of(principal), supplier_id, body.data()))


class LinkIn(BaseModel):
    school_id: int
    valid_from: date
    valid_to: date | None = None


def _link_json(v: sup.LinkView) -> dict[str, Any]:
    return {
        "id": v.id,
        "supplier_id": v.supplier_id,
        "supplier_name": v.supplier_name,
        "school_id": v.school_id,
        "school_name": v.school_name,
        "valid_from": v.valid_from.isoformat(),
        "valid_to": v.valid_to.isoformat() if v.valid_to else None,
    }


@router.get("/supplier-links")
def list_links(principal: District, uow: UowDep) -> list[dict[str, Any]]:
    return [_link_json(v) for v in sup.links_of(uow.session, principal.school_ids)]


@router.post("/suppliers/{supplier_id}/links", status_code=201)
def link(supplier_id: int, body: LinkIn, principal: District, uow: UowDep) -> dict[str, Any]:
    row = sup.link(uow, district_of(principal), supplier_id, body.school_id, body.valid_from, body.valid_to)
    return {"id": row.id}


class EndIn(BaseModel):
    last_day: date


@router.post("/supplier-links/{link_id}/end")
def end_link(link_id: int, body: EndIn, principal: District, uow: UowDep) -> dict[str, Any]:
    row = sup.end_link(uow, district_of(principal), link_id, body.last_day)
    return {"id": row.id, "valid_to": row.valid_to.isoformat() if row.valid_to else None}

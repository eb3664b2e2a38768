"""What every console page shares: the signed-in staff member, the role and school checks (the API's
own `ensure_school`), paging, and the route class that sends a visitor without a staff session to the
staff sign-in page."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth import AuthReason, Principal, Role, ensure_school
from backend.errors import DomainError
from backend.roster.tables import School

from ..pages import PageContext, WebRoute, render
from ..texts import N_
from . import words


class StaffSignInRequired(Exception):
    """The page needs a staff session."""


class ConsoleRoute(WebRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except StaffSignInRequired:
                return RedirectResponse("/staff", status_code=303)

        return route


def staff(pc: PageContext, *roles: Role) -> Principal:
    """The signed-in staff member, in one of `roles` (any staff role when none are given)."""
    p = pc.principal
    if p is None or p.kind != "admin":
        raise StaffSignInRequired
    if roles and p.role not in roles:
        raise DomainError(AuthReason.FORBIDDEN, f"role {p.role} may not open this page")
    return p


def school_of(pc: PageContext, principal: Principal) -> int:
    """The school a page is about: `?school=` when given (checked against the caller's scope, as the
    API does), else the caller's first school."""
    text = pc.request.query_params.get("school", "")
    if text.isdigit():
        ensure_school(principal, int(text))
        return int(text)
    if not principal.school_ids:
        raise DomainError(AuthReason.FORBIDDEN, "the account has no school")
    return min(principal.school_ids)


def schools_in_scope(session: Session, principal: Principal) -> list[tuple[int, str]]:
    """(id, name) of the caller's schools, by name: the choices of a page's school picker."""
    stmt = select(School.id, School.name).where(School.id.in_(sorted(principal.school_ids)))
    return [(i, n) for i, n in session.execute(stmt.order_by(School.name))]


def page_number(pc: PageContext) -> int:
    text = pc.request.query_params.get("page", "1")
    return max(1, min(int(text), 1_000_000)) if text.isdigit() else 1


@dataclass(frozen=True, slots=True)
class Paged:
    rows: list[Any]
    page: int
    pages: int
    total: int


PAGE = 50


def paged(rows: list[Any], total: int, page: int, size: int = PAGE) -> Paged:
    return Paged(rows, page, max(1, -(-total // size)), total)


# Each role's menu: (address, words); the words are translated in the layout.
NAV: dict[Role, list[tuple[str, str]]] = {
    Role.DISTRICT_ADMIN: [
        ("/staff/dashboard", N_("Dashboard")),
        ("/staff/imports", N_("Imports")),
        ("/staff/accounts", N_("Accounts")),
        ("/staff/suppliers", N_("Suppliers")),
        ("/staff/acts", N_("Acts")),
        ("/staff/register", N_("Payment register")),
        ("/staff/tariffs", N_("Tariffs and plans")),
        ("/staff/reask", N_("Re-ask consent")),
        ("/staff/revoke", N_("Revoke a voucher")),
        ("/staff/outbox", N_("SMS outbox")),
        ("/staff/complaints", N_("Complaints")),
        ("/staff/categories", N_("Categories")),
        ("/staff/security", N_("Sign-in security")),
    ],
    Role.SCHOOL_HEAD: [
        ("/staff/lists", N_("Monthly lists")),
        ("/staff/flagged", N_("Flagged meals")),
        ("/staff/terminals", N_("Terminals")),
        ("/staff/calendar", N_("School calendar")),
        ("/staff/menu", N_("Menu")),
        ("/staff/complaints", N_("Complaints")),
        ("/staff/acts", N_("Acts")),
    ],
    Role.SOCIAL_PEDAGOGUE: [
        ("/staff/lists", N_("Monthly lists")),
        ("/staff/followups", N_("Follow-ups")),
        ("/staff/timesheet", N_("Timesheet")),
        ("/staff/categories", N_("Categories")),
    ],
    Role.SUPPLIER: [
        ("/staff/acts", N_("Acts")),
        ("/staff/menu", N_("Menus and ratings")),
        ("/staff/ratings", N_("Ratings and complaints")),
    ],
    Role.CANTEEN_STAFF: [("/staff/served", N_("Served today"))],
    Role.TECHNICIAN: [("/staff/terminals", N_("Terminals"))],
}


def home_of(role: Role | None) -> str:
    return NAV[role][0][0] if role in NAV else "/staff"


def show(pc: PageContext, me: Principal, template: str, *, status: int = 200, **values: Any) -> Response:
    """A console page: the layout's menu is the role's."""
    nav = NAV.get(me.role or Role.TECHNICIAN, [])
    return render(pc, template, status=status, me=me, nav=nav, roles=words.ROLES, words=words, **values)

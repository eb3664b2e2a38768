"""The district admin's pages: staff accounts, suppliers and their links to schools, the SMS outbox,
and the parents' complaints. The services are the API's (backend.auth.accounts, backend.roster.suppliers,
backend.admin.outbox, backend.feedback)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Response
from sqlalchemy import select

from backend.admin.outbox import outbox, outbox_count
from backend.auth import Role
from backend.auth import accounts as acc
from backend.clock import local_date
from backend.deps import UowDep
from backend.errors import CommonReason, DomainError
from backend.feedback import services as feedback
from backend.feedback.model import ComplaintStatus
from backend.roster import suppliers as sup
from backend.roster.tables import School

from ..forms import FormDep, PageDep
from ..pages import redirect
from ..texts import reason_text
from .common import PAGE, ConsoleRoute, page_number, paged, show, staff

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
ROLE_VALUES = frozenset(r.value for r in Role)


def _schools(uow: UowDep, district: str) -> list[tuple[int, str]]:
    return [
        (i, n)
        for i, n in uow.session.execute(
            select(School.id, School.name).where(School.district == district).order_by(School.name)
        )
    ]


# --- accounts --------------------------------------------------------------------------------------------


def _accounts_page(
    pc: PageDep,
    uow: UowDep,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    created: acc.NewAccount | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    assert me.district is not None
    q, role = pc.request.query_params.get("q", ""), pc.request.query_params.get("role", "")
    found = acc.accounts(
        uow.session, me, query=q, role=role if role in ROLE_VALUES else "", page=page_number(pc)
    )
    return show(
        pc,
        me,
        "console/accounts.html",
        status=status,
        found=found,
        q=q,
        role=role,
        schools=_schools(uow, me.district),
        suppliers=sup.suppliers_of_district(uow.session, me.district),
        errors=errors or {},
        created=created,
        form=form or {},
    )


@router.get("/staff/accounts")
def accounts(pc: PageDep, uow: UowDep) -> Response:
    return _accounts_page(pc, uow)


FIELD_OF = {
    "BAD_LOGIN": "login",
    "LOGIN_TAKEN": "login",
    "SCHOOL_REQUIRED": "school",
    "SUPPLIER_REQUIRED": "supplier",
    "NOT_FOUND": "school",
}


@router.post("/staff/accounts")
def create_account(pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    role_text, school, supplier = form.get("role", ""), form.get("school", ""), form.get("supplier", "")
    try:
        if role_text not in ROLE_VALUES:
            raise DomainError(CommonReason.CHOOSE_ONE, "choose a role")
        new = acc.create_account(
            uow,
            me,
            login=form.get("login", ""),
            role=Role(role_text),
            school_ids=[int(school)] if school.isdigit() else [],
            supplier_id=int(supplier) if supplier.isdigit() else None,
            now=pc.ctx.clock.now(),
        )
    except DomainError as exc:
        uow.rollback()
        field = FIELD_OF.get(exc.reason, "role")
        return _accounts_page(
            pc, uow, status=400, errors={field: pc.gettext(reason_text(exc.reason))}, form=form
        )
    return _accounts_page(pc, uow, status=201, created=new)


@router.post("/staff/accounts/{admin_id}/deactivate")
def deactivate(admin_id: int, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    acc.set_active(uow, staff(pc, Role.DISTRICT_ADMIN), admin_id, active=False)
    return redirect(pc, "/staff/accounts?done=deactivated")


@router.post("/staff/accounts/{admin_id}/activate")
def activate(admin_id: int, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    acc.set_active(uow, staff(pc, Role.DISTRICT_ADMIN), admin_id, active=True)
    return redirect(pc, "/staff/accounts?done=activated")


@router.post("/staff/accounts/{admin_id}/reset")
def reset(admin_id: int, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    new = acc.reset_password(uow, staff(pc, Role.DISTRICT_ADMIN), admin_id)
    return _accounts_page(pc, uow, created=new)


# --- suppliers -------------------------------------------------------------------------------------------

SUPPLIER_FIELDS = {
    "BAD_BIN": "bin",
    "BIN_TAKEN": "bin",
    "NAME_REQUIRED": "name",
    "BAD_IBAN": "iban",
    "BAD_BIK": "bank_bik",
}
LINK_FIELDS = {"BAD_PERIOD": "valid_to", "LINK_OVERLAPS": "valid_from", "NOT_FOUND": "school"}


def _suppliers_page(
    pc: PageDep,
    uow: UowDep,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    assert me.district is not None
    today = pc.ctx.clock.now()
    return show(
        pc,
        me,
        "console/suppliers.html",
        status=status,
        suppliers=(found := sup.suppliers_of_district(uow.session, me.district)),
        supplier_options=[(x.id, x.name) for x in found],
        serving=sup.serving_today(uow.session, me.school_ids, local_date(today)),
        links=sup.links_of(uow.session, me.school_ids),
        schools=_schools(uow, me.district),
        errors=errors or {},
        form=form or {},
    )


@router.get("/staff/suppliers")
def suppliers(pc: PageDep, uow: UowDep) -> Response:
    return _suppliers_page(pc, uow)


@router.post("/staff/suppliers")
def create_supplier(pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    assert me.district is not None
    data = sup.SupplierIn(
        form.get("bin", ""),
        form.get("name", ""),
        form.get("iban", ""),
        form.get("bank_bik", ""),
        form.get("bank_name", ""),
    )
    try:
        sup.create_supplier(uow, me.district, data)
    except DomainError as exc:
        uow.rollback()
        field = SUPPLIER_FIELDS.get(exc.reason, "bin")
        return _suppliers_page(
            pc, uow, status=400, errors={field: pc.gettext(reason_text(exc.reason))}, form=form
        )
    return redirect(pc, "/staff/suppliers?done=created")


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        raise DomainError(sup.SupplierReason.BAD_PERIOD, "a date is YYYY-MM-DD") from None


@router.post("/staff/suppliers/links")
def link(pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    assert me.district is not None
    try:
        start = _day(form.get("valid_from", ""))
        if start is None:
            raise DomainError(sup.SupplierReason.BAD_PERIOD, "the period needs a first day")
        supplier, school = form.get("supplier", ""), form.get("school", "")
        if not supplier.isdigit() or not school.isdigit():
            raise DomainError(CommonReason.CHOOSE_ONE, "choose the supplier and the school")
        sup.link(uow, me.district, int(supplier), int(school), start, _day(form.get("valid_to", "")))
    except DomainError as exc:
        uow.rollback()
        field = LINK_FIELDS.get(exc.reason, "valid_from")
        return _suppliers_page(
            pc, uow, status=400, errors={field: pc.gettext(reason_text(exc.reason))}, form=form
        )
    return redirect(pc, "/staff/suppliers?done=linked")


@router.post("/staff/suppliers/links/{link_id}/end")
def end_link(link_id: int, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    assert me.district is not None
    last = _day(form.get("last_day", ""))
    if last is None:
        raise DomainError(sup.SupplierReason.BAD_PERIOD, "the period needs a last day")
    sup.end_link(uow, me.district, link_id, last)
    return redirect(pc, "/staff/suppliers?done=ended")


# --- SMS outbox and complaints ---------------------------------------------------------------------------

SMS_STATES = ("queued", "sending", "sent")


@router.get("/staff/outbox")
def sms(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    status = pc.request.query_params.get("status", "")
    status = status if status in SMS_STATES else ""
    page = page_number(pc)
    total = outbox_count(uow.session, me.school_ids, status or None)
    rows = outbox(uow.session, me.school_ids, limit=PAGE, offset=(page - 1) * PAGE, status=status or None)
    return show(
        pc,
        me,
        "console/outbox.html",
        found=paged(rows, total, page),
        status_filter=status,
        state_options=[(x, x) for x in SMS_STATES],
    )


@router.get("/staff/complaints")
def complaints(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD)
    state = pc.request.query_params.get("status", "open")
    chosen = ComplaintStatus(state) if state in {c.value for c in ComplaintStatus} else None
    page = page_number(pc)
    rows = feedback.complaints(uow.session, me, chosen, limit=PAGE, offset=(page - 1) * PAGE)
    found = paged(rows, feedback.complaints_count(uow.session, me, chosen), page)
    return show(pc, me, "console/complaints.html", found=found, status_filter=state, resolvable=True)


@router.post("/staff/complaints/{complaint_id}/resolve")
def resolve(complaint_id: int, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD)
    feedback.resolve(uow, me, complaint_id, form.get("resolution", ""), now=pc.ctx.clock.now())
    return redirect(pc, "/staff/complaints?done=resolved")

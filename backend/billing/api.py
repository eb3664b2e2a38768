"""Billing endpoints: monthly timesheet, act of completed work (versions, sign-off), reconciliation.

Scope: district admins (their district's schools), school heads (their school) and suppliers (the
schools they serve, acts and timesheets without pupils' names); social pedagogues and technicians
have no billing access (403). A school outside the caller's scope answers 404.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from backend.api_types import IdPath
from backend.auth.dependencies import ensure_school, require_admin
from backend.auth.model import Principal, Role
from backend.deps import CtxDep, UowDep
from backend.errors import DomainError

from . import services, steps
from .documents import act_document, timesheet_document
from .exports import MEDIA_TYPES, ExportFormat, render
from .model import Act, BillingError, due_date, parse_month
from .services import ActView, BillingApiReason

router = APIRouter(prefix="/api/admin/v1/billing", tags=["billing"])

BillingReader = Annotated[
    Principal, Depends(require_admin(Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD, Role.SUPPLIER))
]
Signer = Annotated[Principal, Depends(require_admin(Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD))]
MonthQ = Annotated[str, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
FormatQ = Annotated[str, Query(alias="format")]
NAME_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD})


def _month(text: str) -> date:
    try:
        return parse_month(text)
    except BillingError as exc:
        raise DomainError(exc.reason, exc.detail) from exc


def _format(text: str) -> ExportFormat | None:
    """None: the JSON view."""
    if text == "json":
        return None
    try:
        return ExportFormat(text)
    except ValueError as exc:
        raise DomainError(
            BillingApiReason.BAD_FORMAT, f"format is json, csv, xlsx or pdf, got {text!r}"
        ) from exc


def _file(body: bytes, fmt: ExportFormat, name: str) -> Response:
    return Response(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


def _unpriceable(exc: BillingError) -> DomainError:
    """A missing tariff or unknown plan: the act cannot be priced until the data is fixed."""
    return DomainError(exc.reason, exc.detail)


@router.get("/timesheets/{school_id}", response_model=None)
def get_timesheet(
    uow: UowDep, principal: BillingReader, school_id: IdPath, month: MonthQ, fmt: FormatQ = "json"
) -> Response | dict[str, Any]:
    ensure_school(principal, school_id)
    m, out = _month(month), _format(fmt)
    names = principal.role in NAME_ROLES  # a supplier sees the terminals' display strings only
    ts = services.timesheet(uow.session, school_id, m, names_shown=names)
    if out is not None:
        return _file(render(timesheet_document(ts), out), out, f"timesheet-{school_id}-{month}")
    return {
        "school_id": school_id,
        "month": month,
        "names_shown": ts.names_shown,
        "days": [d.isoformat() for d in ts.days],
        "rows": [
            {
                "pupil_id": r.pupil_id,
                "label": r.label,
                "class_name": r.class_name,
                "plan": r.plan,
                "meals": {d.isoformat(): n for d, n in sorted(r.cells.items())},
                "total": r.total,
            }
            for r in ts.rows
        ],
        "day_totals": {d.isoformat(): n for d, n in ts.day_totals().items()},
        "total": ts.total,
        "held_flagged": ts.held_flagged,
    }


def _act_json(view: ActView) -> dict[str, Any]:
    act: Act = view.act
    return {
        "school_id": act.school.id,
        "school_bin": act.school.bin,
        "school_name": act.school.name,
        "supplier_id": act.supplier.id,
        "supplier_bin": act.supplier.bin,
        "supplier_name": act.supplier.name,
        "month": act.month.strftime("%Y-%m"),
        "version": view.version,
        "status": view.status.value,
        "superseded": view.superseded,
        "due_date": due_date(act.month).isoformat(),
        "signed_by": view.signed_by,
        "signed_at": view.signed_at.isoformat() if view.signed_at else None,
        "meals": act.meals,
        "amount_tiyn": act.amount_tiyn,
        "state_tiyn": act.state_tiyn,
        "parent_tiyn": act.parent_tiyn,
        "lines": [
            {
                "plan": ln.plan,
                "slot": ln.slot,
                "tariff_from": ln.valid_from.isoformat(),
                "first_day": ln.first_day.isoformat(),
                "last_day": ln.last_day.isoformat(),
                "meals": ln.meals,
                "unit_tiyn": ln.unit.amount_tiyn,
                "unit_state_tiyn": ln.unit.state_tiyn,
                "unit_parent_tiyn": ln.unit.parent_tiyn,
                "amount_tiyn": ln.amount_tiyn,
            }
            for ln in act.lines
        ],
    }


@router.get("/acts")
def list_acts(ctx: CtxDep, uow: UowDep, principal: BillingReader, month: MonthQ) -> list[dict[str, Any]]:
    """The current act of every school in the caller's scope (stored as a new version if it changed)."""
    m = _month(month)
    try:
        views = steps.current_acts(uow, sorted(principal.school_ids), m, ctx.clock.now())
    except BillingError as exc:
        raise _unpriceable(exc) from exc
    return [_act_json(v) for _, v in sorted(views.items())]


@router.get("/acts/{school_id}", response_model=None)
def get_act(
    ctx: CtxDep,
    uow: UowDep,
    principal: BillingReader,
    school_id: IdPath,
    month: MonthQ,
    fmt: FormatQ = "json",
    version: int | None = None,
) -> Response | dict[str, Any]:
    ensure_school(principal, school_id)
    m, out = _month(month), _format(fmt)
    try:
        view = (
            steps.current_act(uow, school_id, m, ctx.clock.now())
            if version is None
            else services.act_version(uow.session, school_id, m, version, ctx.clock.now())
        )
    except BillingError as exc:
        raise _unpriceable(exc) from exc
    if out is not None:
        doc = act_document(view.act, version=view.version)
        return _file(render(doc, out), out, f"act-{school_id}-{month}-v{view.version or 0}")
    return _act_json(view)


@router.get("/acts/{school_id}/versions")
def act_versions(
    ctx: CtxDep, uow: UowDep, principal: BillingReader, school_id: IdPath, month: MonthQ
) -> list[dict[str, Any]]:
    """Every stored version of the month's act, newest first (a signed one stays as it was signed)."""
    ensure_school(principal, school_id)
    m = _month(month)
    views = services.stored_acts(uow.session, [school_id], m, ctx.clock.now())
    return [_act_json(v) for v in views]


@router.get("/reconciliation/{school_id}")
def reconciliation(uow: UowDep, principal: Signer, school_id: IdPath, month: MonthQ) -> dict[str, Any]:
    ensure_school(principal, school_id)
    m = _month(month)
    try:
        r = services.reconcile_month(uow.session, school_id, m)
    except BillingError as exc:
        raise _unpriceable(exc) from exc
    return {
        "ok": r.ok,
        "events": r.events,
        "events_amount_tiyn": r.events_amount_tiyn,
        "timesheet_meals": r.timesheet_meals,
        "act_meals": r.act_meals,
        "act_amount_tiyn": r.act_amount_tiyn,
        "problems": list(r.problems),
    }

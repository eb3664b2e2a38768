"""Meal history, a rating per meal, complaints about a meal and the parent's complaints; the menu."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Response

from backend.calendar.services import load_calendar
from backend.clock import KZ_TZ, local_date
from backend.errors import DomainError, not_found
from backend.feedback import services as feedback
from backend.feedback.history import meal_history
from backend.feedback.model import FeedbackReason
from backend.menu import services as menus
from backend.vouchers import services as vouchers

from .. import texts
from ..forms import FormDep, PageDep
from ..pages import PageContext, WebRoute, redirect, render
from .children import child_of

router = APIRouter(route_class=WebRoute, include_in_schema=False)
MENU_DAYS = 7


def _event(hex_id: str) -> bytes:
    try:
        raw = bytes.fromhex(hex_id)
    except ValueError:
        raw = b""
    if len(raw) != 16:
        raise not_found("meal")
    return raw


def _voucher_child(pc: PageContext, voucher_id: int) -> tuple[int, object]:
    session = pc.uow.session
    v = vouchers.voucher_for_parent(session, pc.parent, voucher_id)
    return v.pupil_id, child_of(pc, v.pupil_id)


def _local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(KZ_TZ)


@router.get("/vouchers/{voucher_id}/meals")
def meals(voucher_id: int, pc: PageDep) -> Response:
    _pupil, child = _voucher_child(pc, voucher_id)
    records = meal_history(pc.uow.session, pc.parent, voucher_id)
    history = [{**asdict(m), "local": m.served_at.astimezone(KZ_TZ)} for m in records]
    return render(pc, "parent/meals.html", child=child, voucher_id=voucher_id, meals=history)


@router.post("/meals/{event_id}/rating")
def rate(event_id: str, pc: PageDep, form: FormDep) -> Response:
    raw = _event(event_id)
    try:
        stars = int(form.get("stars", ""))
    except ValueError:
        stars = 0
    voucher_id = int(form.get("voucher", "0") or 0)
    feedback.rate_meal(pc.uow, pc.parent, raw, stars, None, now=pc.ctx.clock.now())
    return redirect(pc, f"/vouchers/{voucher_id}/meals?done=rated#meal-{event_id}")


@router.get("/meals/{event_id}/complaint")
def complaint_page(event_id: str, pc: PageDep, voucher: int) -> Response:
    _event(event_id)
    _pupil, child = _voucher_child(pc, voucher)
    return render(
        pc, "parent/complaint.html", child=child, voucher_id=voucher, event_id=event_id, text="", errors={}
    )


@router.post("/meals/{event_id}/complaint")
def complain(event_id: str, pc: PageDep, form: FormDep) -> Response:
    raw = _event(event_id)
    voucher_id = int(form.get("voucher", "0") or 0)
    pupil_id, child = _voucher_child(pc, voucher_id)
    text = form.get("text", "").strip()
    try:
        feedback.file_complaint(pc.uow, pc.parent, pupil_id, text, event_id=raw, now=pc.ctx.clock.now())
    except DomainError as exc:
        if exc.reason not in (FeedbackReason.EMPTY_COMPLAINT, FeedbackReason.TEXT_TOO_LONG):
            raise
        errors = {"text": pc.gettext(texts.reason_text(exc.reason))}
        return render(
            pc,
            "parent/complaint.html",
            status=400,
            child=child,
            voucher_id=voucher_id,
            event_id=event_id,
            text=text,
            errors=errors,
        )
    return redirect(pc, "/complaints?done=filed")


@router.get("/complaints")
def complaints(pc: PageDep) -> Response:
    session = pc.uow.session
    rows = feedback.complaints_of_parent(session, pc.parent)
    kids = {c.pupil_id: c.display for c in vouchers.children_of(session, pc.parent)}
    return render(pc, "parent/complaints.html", complaints=rows, kids=kids, tz=KZ_TZ)


@router.get("/child/{pupil_id}/menu")
def menu(pupil_id: int, pc: PageDep) -> Response:
    """The school's meal times and the menus it published for the coming week, day by day and slot."""
    child = child_of(pc, pupil_id)
    today = local_date(pc.ctx.clock.now())
    session = pc.uow.session
    cal = load_calendar(session, child.school_id)
    dishes = menus.for_parent(session, pc.parent, pupil_id, today, MENU_DAYS)
    return render(pc, "parent/menu.html", child=child, slots=cal.slots, dishes=dishes)

"""My children, a child's voucher, activate, refuse with a reason, and consent in the app."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Response

from backend.consent import services as consent
from backend.deps import dispatch_sms_after_response
from backend.errors import CommonReason, not_found
from backend.feedback.model import FeedbackReason
from backend.vouchers import services as vouchers
from backend.vouchers.model import VoucherReason
from backend.vouchers.services import ChildOverview

from .. import texts
from ..forms import FormDep, PageDep
from ..pages import PageContext, WebRoute, redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def child_of(pc: PageContext, pupil_id: int) -> ChildOverview:
    """One of the caller's children; another family's child answers 404, as a missing one does."""
    session = pc.uow.session
    for child in vouchers.children_of(session, pc.parent):
        if child.pupil_id == pupil_id:
            return child
    raise not_found("child")


def _options(pc: PageContext) -> list[tuple[str, str]]:
    return [(key, pc.gettext(label)) for key, label in texts.REFUSAL_REASONS.items()]


@router.get("/children")
def children(pc: PageDep) -> Response:
    session = pc.uow.session
    kids = vouchers.children_of(session, pc.parent)
    pending = consent.pending_for_parent(session, pc.parent)
    return render(pc, "parent/children.html", children=kids, pending=pending)


@router.get("/child/{pupil_id}")
def child(pupil_id: int, pc: PageDep) -> Response:
    return render(pc, "parent/child.html", child=child_of(pc, pupil_id))


@router.post("/vouchers/{voucher_id}/activate")
def activate(voucher_id: int, pc: PageDep, form: FormDep) -> Response:
    v = vouchers.activate(pc.uow, pc.parent, voucher_id, pc.ctx.clock.now())
    return redirect(pc, f"/child/{v.pupil_id}?done=activated")


@router.get("/vouchers/{voucher_id}/refuse")
def refuse_page(voucher_id: int, pc: PageDep) -> Response:
    session = pc.uow.session
    v = vouchers.voucher_for_parent(session, pc.parent, voucher_id)
    return render(
        pc,
        "parent/refuse.html",
        child=child_of(pc, v.pupil_id),
        options=_options(pc),
        chosen=None,
        other="",
        errors={},
    )


@router.post("/vouchers/{voucher_id}/refuse")
def refuse(voucher_id: int, pc: PageDep, form: FormDep) -> Response:
    chosen, other = form.get("reason"), form.get("other", "").strip()
    errors: dict[str, str] = {}
    if chosen not in texts.REFUSAL_REASONS:
        errors["reason"] = pc.gettext(texts.reason_text(CommonReason.CHOOSE_ONE))
    elif chosen == "other" and not other:
        errors["other"] = pc.gettext(texts.reason_text(VoucherReason.REASON_REQUIRED))
    elif len(other) > 300:
        errors["other"] = pc.gettext(texts.reason_text(FeedbackReason.TEXT_TOO_LONG))
    if errors:
        session = pc.uow.session
        v = vouchers.voucher_for_parent(session, pc.parent, voucher_id)
        return render(
            pc,
            "parent/refuse.html",
            status=400,
            child=child_of(pc, v.pupil_id),
            options=_options(pc),
            chosen=chosen,
            other=other,
            errors=errors,
        )
    assert chosen is not None
    # The audit trail keeps the fixed reason's own words (English msgid), or the parent's text.
    reason = other if chosen == "other" else texts.REFUSAL_REASONS[chosen]
    v = vouchers.refuse(pc.uow, pc.parent, voucher_id, reason, pc.ctx.clock.now())
    return redirect(pc, f"/child/{v.pupil_id}?done=refused")


@router.get("/consent")
def consent_page(pc: PageDep) -> Response:
    session = pc.uow.session
    pending = consent.pending_for_parent(session, pc.parent)
    return render(pc, "parent/consent.html", pending=pending, errors={})


@router.post("/consent")
def decide(pc: PageDep, form: FormDep, background: BackgroundTasks) -> Response:
    answer = form.get("answer")
    if answer not in ("agree", "decline"):
        session = pc.uow.session
        pending = consent.pending_for_parent(session, pc.parent)
        errors = {"answer": pc.gettext(texts.reason_text(CommonReason.CHOOSE_ONE))}
        return render(pc, "parent/consent.html", status=400, pending=pending, errors=errors)
    ctx = pc.ctx
    result = consent.decide_in_app(
        pc.uow, pc.parent, agree=answer == "agree", settings=ctx.settings, now=ctx.clock.now()
    )
    dispatch_sms_after_response(background, ctx)
    return redirect(pc, f"/children?done={result.outcome}")

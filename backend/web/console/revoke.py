"""The district admin's revocation: find a pupil's voucher (the IIN masked, docs/security.md), revoke it
with a reason. The rule is the API's: backend.vouchers.services.revoke; the parent is told through the
notification channels by the notice worker, which reads the vouchers' audit trail."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Response

from backend.auth import Role
from backend.clock import local_date
from backend.deps import UowDep
from backend.errors import DomainError
from backend.vouchers import services as vouchers
from backend.vouchers.model import VoucherReason, VoucherStatus, school_year_of

from ..forms import FormDep, PageDep
from ..pages import redirect
from ..texts import N_, reason_text
from .common import PAGE, ConsoleRoute, page_number, paged, school_of, schools_in_scope, show, staff

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

VOUCHER_STATES: dict[str, str] = {
    VoucherStatus.AWAITING_ACTIVATION: N_("Awaiting activation"),
    VoucherStatus.ACTIVE: N_("Active"),
    VoucherStatus.REFUSED: N_("Refused by the parent"),
    VoucherStatus.SUSPENDED: N_("Suspended"),
    VoucherStatus.REVOKED: N_("Revoked"),
    VoucherStatus.EXPIRED: N_("Expired"),
}
# The service's reason, in the words of this form (the parent's refusal form shares the code).
WORDS: dict[str, str] = {VoucherReason.REASON_REQUIRED: N_("Say why the voucher is revoked.")}
REVOCABLE = frozenset(
    {VoucherStatus.AWAITING_ACTIVATION, VoucherStatus.ACTIVE, VoucherStatus.REFUSED, VoucherStatus.SUSPENDED}
)


def _page(pc: PageDep, uow: UowDep, *, status: int = 200, errors: dict[int, str] | None = None) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    school = school_of(pc, me)
    q = pc.request.query_params.get("q", "")
    page = page_number(pc)
    rows, total = vouchers.search_holders(
        uow.session,
        me.school_ids,
        school,
        school_year_of(local_date(pc.ctx.clock.now())),
        query=q,
        limit=PAGE,
        offset=(page - 1) * PAGE,
    )
    return show(
        pc,
        me,
        "console/revoke.html",
        status=status,
        schools=schools_in_scope(uow.session, me),
        school=school,
        q=q,
        found=paged(rows, total, page),
        states=VOUCHER_STATES,
        revocable=REVOCABLE,
        errors=errors or {},
    )


@router.get("/staff/revoke")
def revoke_page(pc: PageDep, uow: UowDep) -> Response:
    return _page(pc, uow)


@router.post("/staff/revoke/{voucher_id}")
def revoke(voucher_id: int, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    try:
        v = vouchers.revoke(
            uow,
            voucher_id,
            school_ids=me.school_ids,
            actor=f"admin:{me.id}",
            reason=form.get("reason", ""),
            now=pc.ctx.clock.now(),
        )
    except DomainError as exc:
        uow.rollback()
        if exc.reason == "NOT_FOUND":
            raise
        words = WORDS.get(exc.reason) or reason_text(exc.reason)
        return _page(pc, uow, status=400, errors={voucher_id: pc.gettext(words)})
    back = urlencode({"school": v.school_id, "q": pc.request.query_params.get("q", ""), "done": "revoked"})
    return redirect(pc, f"/staff/revoke?{back}")

"""The parent shares a pupil's pass (a one-time link, also shown as a QR), sees each one and revokes it."""

from __future__ import annotations

import io
from datetime import timedelta

import segno
from fastapi import APIRouter, Response

from backend.clock import KZ_TZ
from backend.passes import services as passes
from backend.vouchers import services as vouchers

from ..forms import FormDep, PageDep
from ..pages import WebRoute, redirect, render
from .children import child_of

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/vouchers/{voucher_id}/passes")
def list_passes(voucher_id: int, pc: PageDep) -> Response:
    session = pc.uow.session
    v = vouchers.voucher_for_parent(session, pc.parent, voucher_id)
    rows = passes.passes_of(session, pc.parent, voucher_id)
    return render(
        pc,
        "parent/passes.html",
        child=child_of(pc, v.pupil_id),
        voucher_id=voucher_id,
        passes=rows,
        now=pc.ctx.clock.now(),
        tz=KZ_TZ,
        window_minutes=max(1, pc.ctx.settings.web.pass_window_seconds // 60),
    )


@router.post("/vouchers/{voucher_id}/passes")
def share(voucher_id: int, pc: PageDep, form: FormDep) -> Response:
    ctx = pc.ctx
    link = passes.share(
        pc.uow,
        pc.parent,
        voucher_id,
        now=ctx.clock.now(),
        ttl=timedelta(seconds=ctx.settings.web.pass_link_ttl_seconds),
    )
    pupil_id = vouchers.voucher_for_parent(pc.uow.session, pc.parent, voucher_id).pupil_id
    url = f"{pc.request.base_url}pass/i/{link.token}"
    svg = io.BytesIO()
    # A link, not a voucher token: byte mode, and error level M like the voucher QR.
    segno.make_qr(url, error="m").save(
        svg, kind="svg", scale=4, border=4, xmldecl=False, svgns=True, svgclass=None
    )
    return render(
        pc,
        "parent/pass_link.html",
        child=child_of(pc, pupil_id),
        voucher_id=voucher_id,
        url=url,
        qr_svg=svg.getvalue().decode(),
        minutes=max(1, ctx.settings.web.pass_link_ttl_seconds // 60),
    )


@router.post("/passes/{pass_id}/revoke")
def revoke(pass_id: int, pc: PageDep, form: FormDep) -> Response:
    voucher_id = passes.revoke(pc.uow, pc.parent, pass_id, now=pc.ctx.clock.now())
    return redirect(pc, f"/vouchers/{voucher_id}/passes?done=revoked")

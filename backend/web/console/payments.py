"""The district admin's payment register of a month (backend.billing.register, the API's service): the
lines the treasury pays (supplier, BIN, account, act, what the state pays, the families' share), the
schools whose act is not accepted yet, and every meal held out of billing with its reasons. The page
only reads; the CSV and JSON downloads are the register's export, which marks its acts sent for
payment (so they are forms, not links)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from backend.auth import Principal, Role
from backend.billing import register
from backend.deps import UowDep
from backend.errors import not_found
from backend.roster.tables import School

from ..forms import FormDep, PageDep
from ..pages import finish
from .billing import month_of, parse_month_field
from .common import PAGE, ConsoleRoute, page_number, paged, show, staff

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
EXPORTS = {
    "csv": ("text/csv; charset=utf-8", register.to_csv),
    "json": ("application/json", register.to_json_bytes),
}


def _district(pc: PageDep) -> tuple[Principal, str]:
    me = staff(pc, Role.DISTRICT_ADMIN)
    assert me.district is not None  # a district admin has one
    return me, me.district


@router.get("/staff/register")
def page(pc: PageDep, uow: UowDep) -> Response:
    me, district = _district(pc)
    month = month_of(pc)
    reg = register.build(uow.session, district, month, with_held=False)
    names = dict(
        uow.session.execute(select(School.bin, School.name).where(School.district == district)).all()
    )
    n = page_number(pc)
    rows, total = register.held_page(uow.session, district, month, offset=(n - 1) * PAGE, limit=PAGE)
    held = paged(list(rows), total, n)
    return show(pc, me, "console/register.html", reg=reg, month=month, names=names, held=held)


@router.post("/staff/register.{fmt}")
def export(fmt: str, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    if fmt not in EXPORTS:
        raise not_found("format")
    _me, district = _district(pc)
    month = parse_month_field(form.get("month", ""))
    reg = register.produce(uow, district, month, pc.ctx.clock.now())
    media_type, encode = EXPORTS[fmt]
    name = f"payment-register-{month:%Y-%m}.{fmt}"
    return finish(
        pc,
        Response(
            encode(reg),
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        ),
    )

"""The district admin's re-ask: pick a school and month's campaign, see how many parents who declined or
never answered would get the request SMS again, then confirm. The rule is the API's:
backend.consent.services.reaskable / reask_campaign (later lists never ask a decliner on their own)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Response

from backend.auth import Role
from backend.consent import services as consent
from backend.consent.model import ConsentStatus
from backend.deps import UowDep, dispatch_sms_after_response
from backend.eligibility.services import get_list, lists_of_school

from ..forms import FormDep, PageDep
from ..pages import redirect
from ..texts import N_
from .common import ConsoleRoute, school_of, schools_in_scope, show, staff
from .words import LIST_STATES

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

WHO: dict[str, tuple[ConsentStatus, ...]] = {
    "both": (ConsentStatus.DECLINED, ConsentStatus.EXPIRED),
    "declined": (ConsentStatus.DECLINED,),
    "expired": (ConsentStatus.EXPIRED,),
}
WHO_WORDS: dict[str, str] = {
    "both": N_("Parents who declined and those who never answered"),
    "declined": N_("Parents who declined"),
    "expired": N_("Parents whose request closed without an answer"),
}


@router.get("/staff/reask")
def reask(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    session = uow.session
    school = school_of(pc, me)
    lists = lists_of_school(session, school)
    chosen_text = pc.request.query_params.get("list", "")
    chosen = next((x for x in lists if str(x.id) == chosen_text), lists[-1] if lists else None)
    who = pc.request.query_params.get("who", "both")
    who = who if who in WHO else "both"
    counts = consent.reaskable(session, me, chosen.id) if chosen else {}
    done = pc.request.query_params.get("asked", "")
    return show(
        pc,
        me,
        "console/reask.html",
        schools=schools_in_scope(session, me),
        school=school,
        lists=[(x.id, f"{x.month:%Y-%m} · {pc.gettext(LIST_STATES.get(x.status, x.status))}") for x in lists],
        chosen=chosen,
        who=who,
        who_options=[(k, pc.gettext(v)) for k, v in WHO_WORDS.items()],
        counts=counts,
        will_get=sum(counts.get(s, 0) for s in WHO[who]),
        asked=int(done) if done.isdigit() else None,
    )


@router.post("/staff/reask/{list_id}")
def confirm(list_id: int, pc: PageDep, form: FormDep, uow: UowDep, background: BackgroundTasks) -> Response:
    me = staff(pc, Role.DISTRICT_ADMIN)
    ctx = pc.ctx
    school = get_list(uow.session, me, list_id).school_id  # 404 for a list outside the district
    who = form.get("who", "both")
    asked = consent.reask_campaign(
        uow, me, list_id, WHO.get(who, WHO["both"]), settings=ctx.settings, now=ctx.clock.now()
    )
    dispatch_sms_after_response(background, ctx)
    return redirect(pc, f"/staff/reask?school={school}&list={list_id}&who={who}&asked={asked}")

"""The month's eligibility list: the social pedagogue forms it (search pupils, add a class, start from
last month's list), the head approves it or returns it with a comment and runs the cross-check; both
see each pupil's result with its reason, and the consent follow-ups. Services: backend.eligibility,
backend.campaign, backend.consent (the API's)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Response

from backend.auth import Role, ensure_school
from backend.campaign import services as campaign
from backend.clock import local_date
from backend.consent import services as consent
from backend.consent.model import IssueReason
from backend.deps import UowDep, dispatch_sms_after_response
from backend.eligibility import services as eligibility
from backend.eligibility.categories import CategoryInfo, all_categories
from backend.eligibility.model import ListStatus, parse_month
from backend.errors import DomainError
from backend.roster.services import classes_of_school, search_pupils

from ..forms import FormDep, PageDep
from ..pages import PageContext, redirect
from ..texts import reason_text
from .common import PAGE, ConsoleRoute, page_number, paged, school_of, show, staff
from .words import CATEGORIES

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
LIST_ROLES = (Role.SOCIAL_PEDAGOGUE, Role.SCHOOL_HEAD, Role.DISTRICT_ADMIN)


def _category(text: str) -> str | None:
    """A category code as posted; the service refuses one that is unknown or retired (CATEGORY_UNKNOWN)."""
    return text.strip()[:30] or None


def category_names(pc: PageContext, found: dict[str, CategoryInfo]) -> dict[str, str]:
    """Each category's name in the page's language: the data's Kazakh or Russian name; in English the
    order's three have their English words and a category of its own its Russian name."""
    if pc.lang in ("kk", "ru"):
        return {c.code: c.name_kk if pc.lang == "kk" else c.name_ru for c in found.values()}
    return {
        c.code: pc.gettext(CATEGORIES[c.code]) if c.code in CATEGORIES else c.name_ru for c in found.values()
    }


@router.get("/staff/lists")
def lists(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, *LIST_ROLES)
    school_id = school_of(pc, me)
    month = local_date(pc.ctx.clock.now()).strftime("%Y-%m")
    return show(
        pc,
        me,
        "console/lists.html",
        lists=list(reversed(eligibility.lists_of_school(uow.session, school_id))),
        school_id=school_id,
        month=month,
        errors={},
    )


@router.post("/staff/lists")
def create(pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, Role.SOCIAL_PEDAGOGUE)
    school_id = int(form.get("school", "0")) if form.get("school", "").isdigit() else school_of(pc, me)
    ensure_school(me, school_id)
    lst = eligibility.create_list(uow, me, school_id, parse_month(form.get("month", "")))
    added = eligibility.copy_previous(uow, me, lst.id) if form.get("from_last") == "1" else 0
    return redirect(pc, f"/staff/lists/{lst.id}?done=created&added={added}")


@router.get("/staff/lists/{list_id}")
def one(list_id: int, pc: PageDep, uow: UowDep) -> Response:
    return _list_page(pc, uow, list_id)


def _list_page(
    pc: PageDep, uow: UowDep, list_id: int, *, status: int = 200, errors: dict[str, str] | None = None
) -> Response:
    principal = staff(pc, *LIST_ROLES)
    lst, rows = eligibility.list_entries(uow.session, principal, list_id)
    on_list = {p.id for _, p in rows}
    params = pc.request.query_params
    result = params.get("result", "")
    if result:
        rows = [(e, p) for e, p in rows if (e.result or "none") == result]
    page = page_number(pc)
    shown = paged(rows[(page - 1) * PAGE : page * PAGE], len(rows), page)
    q, cls = params.get("q", ""), params.get("class", "")
    found, total = (
        search_pupils(uow.session, lst.school_id, query=q, class_name=cls, limit=20)
        if (q or cls)
        else ([], 0)
    )
    followups = [f for f in consent.followups(uow.session, principal) if f.list_id == list_id]
    found_categories = all_categories(uow.session)
    names = category_names(pc, found_categories)
    return show(
        pc,
        principal,
        "console/list.html",
        status=status,
        lst=lst,
        entries=shown,
        result_filter=result,
        q=q,
        cls=cls,
        found=found,
        found_total=total,
        on_list=on_list,
        class_options=[(c, c) for c in classes_of_school(uow.session, lst.school_id)],
        category_options=[(c.code, names[c.code]) for c in found_categories.values() if c.active],
        category_names=names,
        followups=followups,
        draft=lst.status == ListStatus.DRAFT,
        errors=errors or {},
    )


def _form_error(pc: PageDep, uow: UowDep, list_id: int, field: str, exc: DomainError) -> Response:
    uow.rollback()
    return _list_page(pc, uow, list_id, status=400, errors={field: pc.gettext(reason_text(exc.reason))})


@router.post("/staff/lists/{list_id}/entries")
def add(list_id: int, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, Role.SOCIAL_PEDAGOGUE)
    pupil = form.get("pupil", "")
    try:
        eligibility.add_entry(
            uow, me, list_id, int(pupil) if pupil.isdigit() else 0, _category(form.get("category", ""))
        )
    except DomainError as exc:
        if exc.reason == "NOT_FOUND":
            raise
        return _form_error(pc, uow, list_id, "category", exc)
    return redirect(pc, f"/staff/lists/{list_id}?done=added")


@router.post("/staff/lists/{list_id}/entries/{pupil_id}/remove")
def remove(list_id: int, pupil_id: int, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    eligibility.remove_entry(uow, staff(pc, Role.SOCIAL_PEDAGOGUE), list_id, pupil_id)
    return redirect(pc, f"/staff/lists/{list_id}?done=removed")


@router.post("/staff/lists/{list_id}/classes")
def add_class(list_id: int, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, Role.SOCIAL_PEDAGOGUE)
    try:
        added = eligibility.add_class(
            uow, me, list_id, form.get("class_name", ""), _category(form.get("category", ""))
        )
    except DomainError as exc:
        return _form_error(pc, uow, list_id, "class_name", exc)
    return redirect(pc, f"/staff/lists/{list_id}?done=class&added={added}")


@router.post("/staff/lists/{list_id}/copy-previous")
def copy_previous(list_id: int, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    added = eligibility.copy_previous(uow, staff(pc, Role.SOCIAL_PEDAGOGUE), list_id)
    return redirect(pc, f"/staff/lists/{list_id}?done=copied&added={added}")


@router.post("/staff/lists/{list_id}/approve")
def approve(list_id: int, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, Role.SCHOOL_HEAD)
    try:
        eligibility.approve(uow, me, list_id, pc.ctx.clock.now())
    except DomainError as exc:
        if exc.reason == "NOT_FOUND":
            raise
        return _form_error(pc, uow, list_id, "approve", exc)
    return redirect(pc, f"/staff/lists/{list_id}?done=approved")


@router.post("/staff/lists/{list_id}/return")
def send_back(list_id: int, pc: PageDep, form: FormDep, uow: UowDep) -> Response:
    me = staff(pc, Role.SCHOOL_HEAD)
    try:
        eligibility.return_list(uow, me, list_id, form.get("comment", ""), pc.ctx.clock.now())
    except DomainError as exc:
        if exc.reason == "NOT_FOUND":
            raise
        return _form_error(pc, uow, list_id, "comment", exc)
    return redirect(pc, f"/staff/lists/{list_id}?done=returned")


@router.post("/staff/lists/{list_id}/check")
def check(list_id: int, pc: PageDep, form: FormDep, uow: UowDep, background: BackgroundTasks) -> Response:
    me = staff(pc, Role.SCHOOL_HEAD, Role.DISTRICT_ADMIN)
    ctx = pc.ctx
    campaign.check(uow, me, list_id, registry=ctx.registry, settings=ctx.settings, now=ctx.clock.now())
    dispatch_sms_after_response(background, ctx)
    return redirect(pc, f"/staff/lists/{list_id}?done=checked")


@router.get("/staff/followups")
def followups(pc: PageDep, uow: UowDep) -> Response:
    me = staff(pc, Role.SOCIAL_PEDAGOGUE, Role.SCHOOL_HEAD, Role.DISTRICT_ADMIN)
    reason = pc.request.query_params.get("reason", "")
    chosen = IssueReason(reason) if reason in IssueReason.__members__.values() else None
    page = page_number(pc)
    rows, total = consent.followups_page(uow.session, me, chosen, limit=PAGE, offset=(page - 1) * PAGE)
    return show(
        pc, me, "console/followups.html", found=paged(rows, total, page), reason=reason if chosen else ""
    )


@router.get("/staff/categories")
def categories(pc: PageDep, uow: UowDep) -> Response:
    """The eligibility categories any list may use, with the plan each gives (read-only: they are
    national data, changed by `python -m backend categories`)."""
    me = staff(pc)
    found = all_categories(uow.session)
    return show(
        pc, me, "console/categories.html", categories=list(found.values()), names=category_names(pc, found)
    )

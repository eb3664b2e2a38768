"""Scope sweep (issue 5): every admin and parent endpoint refuses a caller from elsewhere.

Two districts with data behind every kind of id a route takes (pupil, parent, voucher, eligibility list,
consent request and follow-up, terminal, served and flagged meal, complaint, rating, supplier). Every
APIRoute under /api/admin/ and /api/parent/ is called with school A's ids:
- without a token → 401;
- as the other district's admin, school B's head / pedagogue / technician / supplier, a parent of another
  family in B and one in A, and the head / technician of school C in A's own district → 403 or 404 (401 for the wrong kind
  of session), with none of school A's names, IIN, phone, pseudonym, texts or ids in the body. Lists
  narrowed to the caller's scope (`Call.filtered`) may answer 200, still without A's data. No refused
  request may write anything (every table compared before and after, but the upload's audit record).
A control proves the ids are right: school A's own people get a 2xx from every GET, and see A's data in
the filtered lists. The sweep fails when a route under those prefixes has no row in CALLS.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.adapters.orm import Base
from backend.auth.model import Role
from backend.clock import KZ_TZ
from backend.eligibility.model import Category
from backend.roster.iin import make_iin
from backend.roster.tables import Parent, Pupil, School, Supplier, SupplierLink
from backend.unit_of_work import UnitOfWork

from .conftest import Device

PREFIXES = ("/api/admin/", "/api/parent/")
MONTH = "2026-09"
LUNCH = datetime(2026, 9, 14, 12, 0, tzinfo=KZ_TZ)

# Routes in CALLS that carry no school or child and so are legitimately open to every signed-in caller of
# the right kind (route → why): the foreign sweep skips them, the anonymous one does not. None today;
# login and the SMS webhook live outside PREFIXES.
GLOBAL: dict[str, str] = {
    "POST /api/admin/v1/suppliers": "any district admin sets up a supplier of its own; it names no school",
    "GET /api/admin/v1/eligibility-categories": "the categories any list may use: the same for everyone",
}


@dataclass(frozen=True)
class Call:
    """How to call one route with school A's ids: query, JSON body or upload; `filtered` names the foreign
    callers that may get 200 (a list narrowed to their own scope) as long as no A data is in it."""

    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    filtered: frozenset[str] = frozenset()
    # for a filtered answer with no names or ids in it (a summary): True when it holds nothing of A's
    nothing_of_a: Callable[[Any], bool] | None = None


# every foreign caller the `world` fixture signs in (see its `foreign`)
ALL_FOREIGN = frozenset(
    {"district_b", "head_b", "pedagogue_b", "technician_b", "supplier_b", "parent_b"}
    | {"head_c", "technician_c", "parent_a2"}
)
A = "/api/admin/v1"
P = "/api/parent/v1"
# a new pupil for school A, as the other district would upload it: every row must come back OUT_OF_SCOPE
NEW_IIN = next(i for n in range(1, 100) if (i := make_iin(f"1{n:010d}")) is not None)
PUPILS_CSV = (
    f"iin,full_name,grade,class_name,school_bin\n{NEW_IIN},Чужой Ученик,5,5А,{{school_bin}}\n".encode()
)

CALLS: dict[str, Call] = {
    # wallet: eligibility lists
    f"GET {A}/schools/{{school_id}}/pupils": Call(),
    f"GET {A}/schools/{{school_id}}/eligibility-lists": Call(),
    f"POST {A}/schools/{{school_id}}/eligibility-lists": Call(body={"month": "2026-10"}),
    f"POST {A}/eligibility-lists/{{list_id}}/entries": Call(body={"pupil_id": "{pupil_id}"}),
    f"DELETE {A}/eligibility-lists/{{list_id}}/entries/{{pupil_id}}": Call(),
    f"POST {A}/eligibility-lists/{{list_id}}/approve": Call(),
    f"POST {A}/eligibility-lists/{{list_id}}/check": Call(),
    f"GET {A}/eligibility-lists/{{list_id}}": Call(),
    f"POST {A}/eligibility-lists/{{list_id}}/return": Call(body={"comment": "sweep"}),
    f"POST {A}/eligibility-lists/{{list_id}}/copy-previous": Call(),
    f"POST {A}/eligibility-lists/{{list_id}}/classes": Call(body={"class_name": "5А"}),
    # an upload is district-wide: rows for schools outside the caller's district are rejected one by one
    f"POST {A}/imports/{{kind}}": Call(
        files={"file": ("pupils.csv", PUPILS_CSV, "text/csv")},
        filtered=frozenset({"district_b"}),
        nothing_of_a=lambda body: (
            body["accepted"] == 0 and [r["reason"] for r in body["rejected"]] == ["OUT_OF_SCOPE"]
        ),
    ),
    # consent
    f"GET {A}/consent/followups": Call(filtered=ALL_FOREIGN),
    f"GET {A}/eligibility-lists/{{list_id}}/consent-requests": Call(),
    f"POST {A}/consent/requests/{{request_id}}/reask": Call(),
    f"POST {A}/eligibility-lists/{{list_id}}/consent-reask": Call(body={"statuses": ["declined", "expired"]}),
    # vouchers, parent side
    f"GET {P}/vouchers": Call(filtered=ALL_FOREIGN),
    f"POST {P}/vouchers/{{voucher_id}}/activate": Call(),
    f"POST {P}/vouchers/{{voucher_id}}/refuse": Call(body={"reason": "sweep"}),
    f"POST {P}/vouchers/{{voucher_id}}/qr": Call(),
    f"GET {P}/vouchers/{{voucher_id}}/qr.png": Call(),
    f"POST {P}/vouchers/{{voucher_id}}/reissue": Call(),
    f"GET {P}/vouchers/{{voucher_id}}/meals": Call(),
    f"GET {P}/vouchers/{{voucher_id}}/events": Call(),
    # vouchers, admin side
    f"GET {A}/vouchers/{{voucher_id}}/events": Call(),
    f"POST {A}/vouchers/{{voucher_id}}/revoke": Call(body={"reason": "sweep"}),
    f"POST {A}/vouchers/{{voucher_id}}/plan": Call(body={"plan": 2, "reason": "sweep"}),
    f"GET {A}/sms/outbox": Call(filtered=ALL_FOREIGN),
    # staff accounts and suppliers
    f"GET {A}/accounts": Call(filtered=ALL_FOREIGN),
    f"POST {A}/accounts": Call(
        body={"login": "sweep.new", "role": "school_head", "school_ids": ["{school_id}"]}
    ),
    f"POST {A}/accounts/{{admin_id}}/deactivate": Call(),
    f"POST {A}/accounts/{{admin_id}}/activate": Call(),
    f"POST {A}/accounts/{{admin_id}}/reset": Call(),
    f"GET {A}/suppliers": Call(filtered=ALL_FOREIGN),
    f"POST {A}/suppliers": Call(
        body={"bin": "990000000002", "name": "New", "iban": "KZ000000000000000000", "bank_bik": "KCJBKZKX"}
    ),
    f"PUT {A}/suppliers/{{supplier_id}}": Call(
        body={
            "bin": "990000000001",
            "name": "Renamed",
            "iban": "KZ000000000000000000",
            "bank_bik": "KCJBKZKX",
        }
    ),
    f"GET {A}/supplier-links": Call(filtered=ALL_FOREIGN),
    f"POST {A}/suppliers/{{supplier_id}}/links": Call(
        body={"school_id": "{school_id}", "valid_from": "2027-01-01"}
    ),
    f"POST {A}/supplier-links/{{link_id}}/end": Call(body={"last_day": "2027-06-30"}),
    # fleet and cards
    f"POST {A}/terminals/enrolment-codes": Call(body={"school_id": "{school_id}"}),
    f"POST {A}/terminals/{{terminal_id}}/retire": Call(),
    f"POST {A}/terminals/{{terminal_id}}/move": Call(body={"school_id": "{school_id}"}),
    f"GET {A}/schools/{{school_id}}/terminals": Call(),
    f"POST {A}/cards/credential": Call(body={"pseudonym": "{pseudonym}", "uid": "04a1b2c3d4e5f6"}),
    f"POST {A}/cards/register": Call(body={"pseudonym": "{pseudonym}", "uid": "04a1b2c3d4e5f6"}),
    f"GET {A}/cards/uid-only": Call(query={"school_id": "{school_id}"}),
    # calendar and tariffs
    f"GET {A}/schools/{{school_id}}/calendar": Call(),
    f"PUT {A}/schools/{{school_id}}/meal-slots": Call(body=[{"slot": 1, "start": "10:00", "end": "11:00"}]),
    f"PUT {A}/schools/{{school_id}}/weekdays": Call(body={"weekdays": [1, 2, 3]}),
    f"POST {A}/schools/{{school_id}}/calendar-days": Call(body={"day": "2026-09-15", "school_day": False}),
    f"POST {A}/districts/{{district}}/calendar-days": Call(body={"day": "2026-09-15", "school_day": False}),
    f"DELETE {A}/schools/{{school_id}}/calendar-days/{{day}}": Call(),
    f"POST {A}/tariffs": Call(
        body={
            "school_id": "{school_id}",
            "plan": 1,
            "slot": 1,
            "valid_from": "2026-09-01",
            "amount_tiyn": 1,
            "state_share_tiyn": 1,
        }
    ),
    f"GET {A}/schools/{{school_id}}/tariffs": Call(),
    # meals flagged at ingest
    f"GET {A}/flagged-meals": Call(query={"school_id": "{school_id}"}),
    f"POST {A}/flagged-meals/{{event_id}}/decision": Call(body={"decision": "reject"}),
    # feedback
    f"POST {P}/meals/{{event_id}}/rating": Call(body={"stars": 1}),
    f"POST {P}/complaints": Call(body={"pupil_id": "{pupil_id}", "text": "sweep"}),
    f"GET {A}/complaints": Call(filtered=ALL_FOREIGN),
    f"POST {A}/complaints/{{complaint_id}}/resolve": Call(body={"resolution": "sweep"}),
    f"POST {A}/complaints/{{complaint_id}}/forward": Call(),
    f"GET {A}/ratings/schools/{{school_id}}": Call(),
    f"GET {A}/ratings/suppliers/{{supplier_id}}": Call(
        filtered=ALL_FOREIGN, nothing_of_a=lambda body: body["count"] == 0
    ),
    # reporting and billing
    f"GET {A}/reports/daily": Call(query={"date": "2026-09-14", "school_id": "{school_id}"}),
    f"GET {A}/billing/timesheets/{{school_id}}": Call(query={"month": MONTH}),
    f"GET {A}/billing/acts": Call(query={"month": MONTH}, filtered=ALL_FOREIGN),
    f"GET {A}/billing/acts/{{school_id}}": Call(query={"month": MONTH}),
    f"GET {A}/billing/acts/{{school_id}}/versions": Call(query={"month": MONTH}),
    f"GET {A}/billing/reconciliation/{{school_id}}": Call(query={"month": MONTH}),
    # school year
    f"GET {A}/eligibility-lists/{{list_id}}/returns": Call(),
    f"GET {A}/eligibility-categories": Call(),
    f"PUT {A}/districts/{{district}}/settings": Call(body={"school_activates_unlinked": True}),
    f"POST {A}/pupils/{{pupil_id}}/transfer": Call(
        body={"to_school_id": "{school_id}", "effective_on": "2026-09-14"}
    ),
    f"POST {A}/vouchers/{{voucher_id}}/activate-by-school": Call(),
    f"POST {A}/complaints/{{complaint_id}}/close": Call(),
    f"GET {P}/complaints": Call(filtered=ALL_FOREIGN),
    f"PUT {A}/schools/{{school_id}}/menus": Call(
        body={"day": "2026-09-14", "slot": 1, "dishes": [{"kk": "Ботқа", "ru": "Каша"}]}
    ),
    f"GET {A}/schools/{{school_id}}/menus": Call(),
    f"GET {A}/schools/{{school_id}}/menus/rated": Call(),
    f"GET {P}/menus": Call(query={"pupil_id": "{pupil_id}"}),
    f"POST {A}/billing/acts/{{school_id}}/steps": Call(
        body={"month": MONTH, "version": 1, "step": "submitted"}
    ),
    f"GET {A}/billing/steps": Call(query={"month": MONTH, "school_id": "{school_id}"}),
    f"POST {A}/billing/payment-register": Call(
        body={"month": MONTH},
        filtered=frozenset({"district_b"}),
        nothing_of_a=lambda body: body["lines"] == [] and body["held_meals"] == [],
    ),
}

# The same routes once more without their school filter: the answer must narrow to the caller's scope.
UNSCOPED: list[tuple[str, Call]] = [
    (f"GET {A}/flagged-meals", Call(filtered=ALL_FOREIGN)),
    (f"GET {A}/reports/daily", Call(query={"date": "2026-09-14"}, filtered=ALL_FOREIGN)),
]
SWEEP: list[tuple[str, Call]] = [*CALLS.items(), *UNSCOPED]


def swept_routes(app: FastAPI) -> dict[str, APIRoute]:
    """Every APIRoute under PREFIXES, keyed "METHOD path" (routers included in routers flattened)."""
    out: dict[str, APIRoute] = {}
    for rc in iter_route_contexts(app.routes):
        route = rc.original_route
        if isinstance(route, APIRoute) and rc.path is not None and rc.path.startswith(PREFIXES):
            for method in sorted(rc.methods or ()):
                out[f"{method} {rc.path}"] = route
    return out


@dataclass
class World:
    ids: dict[str, str]  # path/body placeholder → school A's value
    markers: list[str]  # strings that only the data of school A's sweep family and staff contains
    school_markers: list[str]  # school A's own (its name): fine for another family of that school
    foreign: dict[str, dict[str, str]]  # caller name → headers
    own_staff: list[dict[str, str]]
    own_parent: dict[str, str]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    """A body or query with "{name}" placeholders → school A's values (row ids as JSON numbers)."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        name = value[1:-1]
        return int(ids[name]) if name in ROW_IDS else ids[name]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


ROW_IDS = frozenset({"school_id", "pupil_id"})  # the integer ids bodies carry


def _path(template: str, ids: dict[str, str]) -> str:
    # the two event-id routes take different events: a flagged meal (decision) and a served one (rating)
    flagged = {"event_id": ids["flagged_id"]} if "/flagged-meals/" in template else {}
    return template.format(**(ids | flagged))


def _request(client: TestClient, key: str, call: Call, world: World, headers: dict[str, str]) -> Any:
    method, template = key.split(" ", 1)
    url = _path(template, world.ids)
    query = {k: _fill(v, world.ids) for k, v in call.query.items()}
    kwargs: dict[str, Any] = {"params": query, "headers": headers}
    if call.files is not None:
        kwargs["files"] = {
            name: (filename, content.decode().format(**world.ids).encode(), media)
            for name, (filename, content, media) in call.files.items()
        }
    elif call.body is not None:
        kwargs["json"] = _fill(call.body, world.ids)
    return client.request(method, url, **kwargs)


@pytest.fixture
def world(
    client: TestClient,
    uow_factory: Callable[[], UnitOfWork],
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    make_voucher: Callable[..., int],
    enrol_device: Callable[..., Device],
    with_lunch_slot: Callable[[int], None],
    registered: Callable[..., None],
    admin_token: Callable[..., tuple[int, dict[str, str]]],
    parent_token: Callable[[int], dict[str, str]],
) -> World:
    school_a, school_b = make_school(district="Almaly"), make_school(district="Medeu")
    school_c = make_school(district="Almaly")  # school A's neighbour in the same district
    with uow_factory() as uow:
        supplier = Supplier(bin="990000000001", name="Sweep Supplier")
        uow.session.add(supplier)
        uow.session.flush()
        for sid in (school_a, school_b):
            row = uow.session.get(School, sid)
            assert row is not None
            row.supplier_id = supplier.id
            if sid == school_a:
                row.name = "Sweep School Alpha"
                school_bin = row.bin
        supplier_id = supplier.id
        a_link = SupplierLink(supplier_id=supplier.id, school_id=school_a, valid_from=date(2026, 9, 1))
        uow.session.add(a_link)
        uow.commit()
        link_id = a_link.id
    for sid in (school_a, school_b):
        with_lunch_slot(sid)
    pupil_a = make_pupil(school_a, full_name="Алтынбек Сweepалиев", class_name="5А")
    parent_a = make_parent(full_name="Родитель Альфа", language="ru")
    link(pupil_a, parent_a)
    registered(pupil_a)
    pupil_b = make_pupil(school_b, full_name="Other Child", class_name="5Б")
    parent_b = make_parent(full_name="Other Parent")
    link(pupil_b, parent_b)
    make_voucher(pupil_b, school_b)
    pupil_a2 = make_pupil(school_a, full_name="Сосед Партой", class_name="5А")  # another family, same class
    parent_a2 = make_parent(full_name="Other Parent Two")
    link(pupil_a2, parent_a2)
    make_voucher(pupil_a2, school_a)

    district_a = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")[1]
    head_a_id, head_a = admin_token(Role.SCHOOL_HEAD, (school_a,))
    pedagogue_a = admin_token(Role.SOCIAL_PEDAGOGUE, (school_a,))[1]
    technician_a = admin_token(Role.TECHNICIAN, (school_a,))[1]
    parent_a_h = parent_token(parent_a)

    # an eligibility list with its consent request
    r = client.post(f"{A}/schools/{school_a}/eligibility-lists", json={"month": MONTH}, headers=pedagogue_a)
    assert r.status_code == 201, r.text
    list_id = r.json()["id"]
    r = client.post(
        f"{A}/eligibility-lists/{list_id}/entries",
        json={"pupil_id": pupil_a, "category": Category.TARGETED_ASSISTANCE.value},
        headers=pedagogue_a,
    )
    assert r.status_code == 201, r.text
    unlinked = make_pupil(school_a, full_name="Безродителей Альфа", class_name="5А")  # a consent follow-up
    registered(unlinked)
    r = client.post(
        f"{A}/eligibility-lists/{list_id}/entries",
        json={"pupil_id": unlinked, "category": Category.TARGETED_ASSISTANCE.value},
        headers=pedagogue_a,
    )
    assert r.status_code == 201, r.text
    assert client.post(f"{A}/eligibility-lists/{list_id}/approve", headers=head_a).status_code == 200
    r = client.post(f"{A}/eligibility-lists/{list_id}/check", headers=head_a)
    assert r.status_code == 200, r.text
    assert r.json()["consent_requests"] == 1, r.text
    r = client.get(f"{A}/eligibility-lists/{list_id}/consent-requests", headers=pedagogue_a)
    assert r.status_code == 200 and r.json(), r.text
    request_id = r.json()[0]["id"]
    voucher_a = make_voucher(pupil_a, school_a)

    # a terminal with a served meal and a flagged (untrusted clock) one
    device = enrol_device(school_a)
    served = device.event(voucher_a, LUNCH)
    flagged = device.event(voucher_a, LUNCH.replace(hour=12, minute=30), trusted=False)
    r = device.upload(client, device.batch([served, flagged]))
    assert r.status_code == 200, r.text

    r = client.post(f"{P}/complaints", json={"pupil_id": pupil_a, "text": "Жалоба Альфа"}, headers=parent_a_h)
    assert r.status_code == 201, r.text
    complaint_id = r.json()["complaint_id"]
    r = client.post(
        f"{P}/meals/{served.event_id.hex()}/rating",
        json={"stars": 5, "text": "Отзыв Альфа"},
        headers=parent_a_h,
    )
    assert r.status_code == 201, r.text

    with uow_factory() as uow:
        pupil = uow.session.get(Pupil, pupil_a)
        parent = uow.session.execute(select(Parent).where(Parent.id == parent_a)).scalar_one()
        assert pupil is not None and parent.phone is not None
        pseudonym = pupil.pseudonym.hex()
        markers = [pupil.iin, pupil.full_name, pseudonym, pupil.display, parent.phone, parent.full_name]
        ids = {"pseudonym": pseudonym}
    markers += ["Безродителей Альфа", "Жалоба Альфа", "Отзыв Альфа"]
    ids |= {
        "school_id": str(school_a),
        "list_id": str(list_id),
        "pupil_id": str(pupil_a),
        "request_id": str(request_id),
        "voucher_id": str(voucher_a),
        "terminal_id": str(device.terminal_id),
        "event_id": served.event_id.hex(),
        "flagged_id": flagged.event_id.hex(),
        "complaint_id": str(complaint_id),
        "supplier_id": str(supplier_id),
        "district": "Almaly",
        "kind": "pupils",
        "school_bin": school_bin,
        "admin_id": str(head_a_id),
        "link_id": str(link_id),
        "day": "2026-09-15",
    }
    foreign = {
        "district_b": admin_token(Role.DISTRICT_ADMIN, (), "Medeu")[1],
        "head_b": admin_token(Role.SCHOOL_HEAD, (school_b,))[1],
        "pedagogue_b": admin_token(Role.SOCIAL_PEDAGOGUE, (school_b,))[1],
        "technician_b": admin_token(Role.TECHNICIAN, (school_b,))[1],
        "supplier_b": admin_token(Role.SUPPLIER, (school_b,))[1],
        "parent_b": parent_token(parent_b),
        "head_c": admin_token(Role.SCHOOL_HEAD, (school_c,))[1],
        "technician_c": admin_token(Role.TECHNICIAN, (school_c,))[1],
        "parent_a2": parent_token(parent_a2),
    }
    return World(
        ids,
        markers,
        ["Sweep School Alpha"],
        foreign,
        [district_a, head_a, pedagogue_a, technician_a],
        parent_a_h,
    )


ID_KEYS = ("school_id", "pupil_id", "voucher_id", "complaint_id", "list_id", "terminal_id", "event_id")


# callers who belong to school A themselves: its name and id are theirs to see, its families' data is not
SAME_SCHOOL = frozenset({"parent_a2"})


def _ids_in(value: Any, ids: dict[str, str], keys: tuple[str, ...]) -> Iterator[str]:
    """Keys of the JSON answer that carry one of school A's ids (`{"school_id": <A>}` and the like)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k in keys and str(v) == ids[k]:
                yield k
            yield from _ids_in(v, ids, keys)
    elif isinstance(value, list):
        for v in value:
            yield from _ids_in(v, ids, keys)


def _leaks(body: str, world: World, *, of_school: bool = True) -> list[str]:
    """School A's names, IIN, phone, pseudonym, texts and ids found in an answer (`of_school`: the
    school's own name and id count too)."""
    markers = world.markers + (world.school_markers if of_school else [])
    keys = ID_KEYS if of_school else tuple(k for k in ID_KEYS if k != "school_id")
    try:  # JSON may escape Cyrillic as \uXXXX: compare against the decoded text too
        parsed = json.loads(body)
    except ValueError:
        return [m for m in markers if m in body]
    text = body + json.dumps(parsed, ensure_ascii=False)
    return [m for m in markers if m in text] + list(_ids_in(parsed, world.ids, keys))


def _shows_a(call: Call, body: str, world: World, *, of_school: bool = True) -> bool:
    check = call.nothing_of_a
    leaked = _leaks(body, world, of_school=of_school)
    return bool(leaked) or (check is not None and not check(json.loads(body)))


# tables a refused request may write: the record of the other district's upload and its OUT_OF_SCOPE row
AUDIT_TABLES = frozenset({"import_runs", "import_rejections"})


def _snapshot(uow_factory: Callable[[], UnitOfWork]) -> dict[str, list[str]]:
    """Every row of every table (but AUDIT_TABLES), to prove the refused requests wrote nothing."""
    with uow_factory() as uow:
        return {
            t.name: sorted(map(repr, uow.session.execute(select(t)).all()))
            for t in Base.metadata.sorted_tables
            if t.name not in AUDIT_TABLES
        }


def test_every_route_under_the_prefixes_is_swept(app: FastAPI) -> None:
    routes = set(swept_routes(app))
    assert routes, "no routes found: has route discovery broken?"
    assert routes - set(CALLS) == set(), "new route(s) without a row in CALLS"
    assert set(CALLS) - routes == set(), "CALLS names routes the app no longer has"
    assert set(GLOBAL) <= set(CALLS)
    assert {key for key, _ in UNSCOPED} <= set(CALLS)


def test_anonymous_caller_gets_401_everywhere(client: TestClient, world: World) -> None:
    wrong = {}
    for key, call in SWEEP:
        r = _request(client, key, call, world, {})
        if r.status_code != 401:
            wrong[key] = (r.status_code, r.text[:200])
    assert wrong == {}


def test_foreign_callers_are_refused_see_nothing_and_change_nothing(
    client: TestClient, world: World, uow_factory: Callable[[], UnitOfWork]
) -> None:
    assert set(world.foreign) == ALL_FOREIGN
    before = _snapshot(uow_factory)
    wrong: dict[str, Any] = {}
    for key, call in SWEEP:
        if key in GLOBAL:
            continue
        parent_route = key.split(" ", 1)[1].startswith(P)
        for who, headers in world.foreign.items():
            r = _request(client, key, call, world, headers)
            other_kind = parent_route != who.startswith("parent")
            allowed = {401, 403, 404} if other_kind else {403, 404}
            if who in call.filtered:
                allowed.add(200)
            of_school = who not in SAME_SCHOOL
            shows_a = r.status_code == 200 and _shows_a(call, r.text, world, of_school=of_school)
            if r.status_code not in allowed or shows_a:
                leaked = _leaks(r.text, world, of_school=of_school)
                wrong[f"{key} {call.query} as {who}"] = (r.status_code, leaked, r.text[:200])
    assert wrong == {}
    after = _snapshot(uow_factory)
    assert {t for t in before if before[t] != after[t]} == set(), "a refused request changed data"


def test_own_callers_reach_every_read_route(client: TestClient, world: World) -> None:
    """The control: with the same ids, school A's own people get an answer, so a refusal above is scope;
    a list that may answer foreigners 200 does show school A's data to its own people."""
    failed = {}
    for key, call in SWEEP:
        if not key.startswith("GET "):
            continue
        callers = [world.own_parent] if key.split(" ", 1)[1].startswith(P) else world.own_staff
        answers = [_request(client, key, call, world, h) for h in callers]
        ok = [r for r in answers if 200 <= r.status_code < 300]
        if not ok or (call.filtered and not any(_shows_a(call, r.text, world) for r in ok)):
            failed[f"{key} {call.query}"] = [(r.status_code, r.text[:200]) for r in answers]
    assert failed == {}

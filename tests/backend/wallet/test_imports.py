"""Import from the national education database's CSV/JSON exports: validation, report, re-import, resume."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.auth.model import Role
from backend.context import AppContext
from backend.imports.model import ImportKind, RejectReason, validate
from backend.imports.tables import ImportRejection
from backend.roster.iin import is_valid_iin, make_iin
from backend.roster.pseudonym import pseudonym_for
from backend.roster.tables import Parent, Pupil

from .conftest import CAT, Staff


def _iin(n: int) -> str:
    while (iin := make_iin(f"0{n:010d}")) is None:
        n += 1
    return iin


def test_iin_check_digit() -> None:
    good = make_iin("90010130001")
    assert good is not None and is_valid_iin(good)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert not is_valid_iin(bad)
    for wrong in ("", "12345678901", "1234567890123", "12345678901a", "１２３４５６７８９０１２"):
        assert not is_valid_iin(wrong)


def test_iin_second_weights_and_no_digit() -> None:
    # first pass gives 10 → second weights decide
    first11 = next(
        f"{n:011d}"
        for n in range(10**10, 10**10 + 10_000)
        if sum(int(d) * w for d, w in zip(f"{n:011d}", range(1, 12), strict=True)) % 11 == 10
    )
    second = sum(int(d) * w for d, w in zip(first11, (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2), strict=True)) % 11
    if second == 10:
        assert make_iin(first11) is None
    else:
        assert make_iin(first11) == first11 + str(second)
    # some 11-digit prefix has no valid check digit at all
    none_ok = next(f"{n:011d}" for n in range(10**10, 10**10 + 100_000) if make_iin(f"{n:011d}") is None)
    assert not any(is_valid_iin(none_ok + str(d)) for d in range(10))


@pytest.mark.parametrize(
    ("kind", "record", "reason"),
    [
        (
            "pupils",
            {"iin": "123", "full_name": "A", "grade": "5", "class_name": "5A", "school_bin": "1" * 12},
            "IIN_INVALID",
        ),
        (
            "pupils",
            {"iin": "GOOD", "full_name": "A", "grade": "12", "class_name": "5A", "school_bin": "1" * 12},
            "GRADE_INVALID",
        ),
        (
            "pupils",
            {"iin": "GOOD", "full_name": "A", "grade": "five", "class_name": "5A", "school_bin": "1" * 12},
            "GRADE_INVALID",
        ),
        (
            "pupils",
            {"iin": "GOOD", "full_name": "", "grade": "5", "class_name": "5A", "school_bin": "1" * 12},
            "MISSING_FIELD",
        ),
        ("parents", {"iin": "GOOD", "full_name": "P", "phone": "12345"}, "PHONE_INVALID"),
        ("parents", {"iin": "GOOD", "full_name": "P", "language": "en"}, "LANGUAGE_INVALID"),
        ("links", {"pupil_iin": "GOOD", "parent_iin": "GOOD", "role": "aunt"}, "ROLE_INVALID"),
        ("schools", {"bin": "12", "name": "S", "region": "R", "district": "D"}, "BIN_INVALID"),
    ],
)
def test_row_validation(kind: str, record: dict[str, str], reason: str) -> None:
    rec = {k: (_iin(1) if v == "GOOD" else v) for k, v in record.items()}
    result = validate(ImportKind(kind), 7, rec)
    assert getattr(result, "reason", None) == RejectReason(reason) and getattr(result, "row", None) == 7


def _upload(
    client: TestClient, headers: dict[str, str], kind: str, name: str, content: str
) -> dict[str, Any]:
    r = client.post(
        f"/api/admin/v1/imports/{kind}",
        files={"file": (name, content.encode(), "text/plain")},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def test_import_report_and_reimport(
    client: TestClient, ctx: AppContext, admin_token: Callable[..., tuple[int, dict[str, str]]]
) -> None:
    _, h = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")
    schools = "bin,name,region,district\n000000000001,School 1,Almaty,Almaly\n000000000002,School 2,Almaty,Bostandyk\n"
    rep = _upload(client, h, "schools", "schools.csv", schools)
    assert rep["created"] == 1 and [(r["row"], r["reason"]) for r in rep["rejected"]] == [(3, "OUT_OF_SCOPE")]
    a, b, c = _iin(10), _iin(20), _iin(30)
    pupils = (
        "iin;full_name;grade;class_name;school_bin\n"
        f"{a};Асанов Ерлан;5;5А;000000000001\n"
        f"{b};Бекова Әсел;3;3Б;000000000001\n"
        f"{a};Асанов Ерлан;5;5А;000000000001\n"
        f"{c[:-1]}{(int(c[-1]) + 1) % 10};Bad Iin;5;5А;000000000001\n"
        f"{c};No School;5;5А;999999999999\n"
        f"{c};No Grade;;5А;000000000001\n"
    )
    rep = _upload(client, h, "pupils", "pupils.csv", pupils)
    assert rep["created"] == 2
    assert [(r["row"], r["reason"]) for r in rep["rejected"]] == [
        (4, "DUPLICATE"),
        (5, "IIN_INVALID"),
        (6, "SCHOOL_UNKNOWN"),
        (7, "MISSING_FIELD"),
    ]
    with ctx.session_factory() as s:
        p = s.scalars(select(Pupil).where(Pupil.iin == a)).one()
        assert p.pseudonym == pseudonym_for(ctx.settings.pseudonym_secret, a) and p.display == "А.Е. 5А"
        assert (
            s.scalar(select(ImportRejection.reason).where(ImportRejection.row_number == 5)) == "IIN_INVALID"
        )
    # re-import: the pupil moved up a class; the other is unchanged
    again = f"iin,full_name,grade,class_name,school_bin\n{a},Асанов Ерлан,6,6А,000000000001\n{b},Бекова Әсел,3,3Б,000000000001\n"
    rep = _upload(client, h, "pupils", "pupils.csv", again)
    assert (rep["created"], rep["updated"], rep["unchanged"]) == (0, 1, 1)
    with ctx.session_factory() as s:
        p = s.scalars(select(Pupil).where(Pupil.iin == a)).one()
        assert (p.grade, p.class_name, p.display) == (6, "6А", "А.Е. 6А")
    # JSON parents, with a phone normalised and one without
    m, f = _iin(40), _iin(50)
    parents = json.dumps(
        [
            {"iin": m, "full_name": "Асанова Айгүл", "phone": "8 (701) 111-22-33", "language": "kk"},
            {"iin": f, "full_name": "Асанов Бек", "phone": ""},
            {"iin": "1", "full_name": "Broken"},
            "not an object",
        ]
    )
    rep = _upload(client, h, "parents", "parents.json", parents)
    assert rep["created"] == 2 and [(r["row"], r["reason"]) for r in rep["rejected"]] == [
        (3, "IIN_INVALID"),
        (4, "MISSING_FIELD"),
    ]
    with ctx.session_factory() as s:
        assert s.scalars(select(Parent.phone).where(Parent.iin.in_([m, f])).order_by(Parent.iin)).all() in (
            ["+77011112233", None],
            [None, "+77011112233"],
        )
    links = f"pupil_iin,parent_iin,role\n{a},{m},mother\n{a},{_iin(60)},father\n{_iin(70)},{m},mother\n"
    rep = _upload(client, h, "links", "links.csv", links)
    assert rep["created"] == 1 and [(r["row"], r["reason"]) for r in rep["rejected"]] == [
        (3, "PARENT_UNKNOWN"),
        (4, "PUPIL_UNKNOWN"),
    ]


def test_import_needs_district_admin_and_readable_file(
    client: TestClient, admin_token: Callable[..., tuple[int, dict[str, str]]]
) -> None:
    _, head = admin_token(Role.SCHOOL_HEAD, ())
    r = client.post(
        "/api/admin/v1/imports/pupils", files={"file": ("p.csv", b"x", "text/plain")}, headers=head
    )
    assert r.status_code == 403
    _, h = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")
    r = client.post(
        "/api/admin/v1/imports/pupils", files={"file": ("p.json", b"{not json", "text/plain")}, headers=h
    )
    assert r.status_code == 400 and r.json()["reason"] == "IMPORT_MALFORMED"
    r = client.post(
        "/api/admin/v1/imports/pupils", files={"file": ("p.csv", b"\xff\xfe\x00bad", "text/plain")}, headers=h
    )
    assert r.status_code == 400 and r.json()["reason"] == "IMPORT_MALFORMED"
    r = client.post(
        "/api/admin/v1/imports/teachers", files={"file": ("p.csv", b"a", "text/plain")}, headers=h
    )
    assert r.status_code == 422


def test_link_arriving_later_resumes_consent(
    client: TestClient,
    ctx: AppContext,
    admin_token: Callable[..., tuple[int, dict[str, str]]],
    checked_list: Callable[..., tuple[int, dict[str, Any]]],
    registered: Callable[..., None],
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    staff: Callable[..., Staff],
    sent_sms: Callable[[], list[tuple[str, str, str]]],
) -> None:
    school = make_school()
    pupil_iin = _iin(80)
    pupil = make_pupil(school, grade=7, iin=pupil_iin)
    registered(pupil)
    _, summary = checked_list(school, [(pupil, CAT)])
    assert summary["consent_issues"] == {"UNLINKED": 1}
    s = staff(school)
    assert len(client.get("/api/admin/v1/consent/followups", headers=s.district).json()) == 1
    _, h = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")
    parent_iin = _iin(90)
    _upload(client, h, "parents", "p.csv", f"iin,full_name,phone\n{parent_iin},Guardian One,+77017654321\n")
    rep = _upload(
        client, h, "links", "l.csv", f"pupil_iin,parent_iin,role\n{pupil_iin},{parent_iin},guardian\n"
    )
    assert rep["resumed"] == 1
    assert client.get("/api/admin/v1/consent/followups", headers=s.district).json() == []
    assert [(p, k) for p, k, _ in sent_sms()] == [("+77017654321", "request")]
    # the same link again: nothing new
    rep = _upload(
        client, h, "links", "l.csv", f"pupil_iin,parent_iin,role\n{pupil_iin},{parent_iin},guardian\n"
    )
    assert (rep["unchanged"], rep["resumed"]) == (1, 0)

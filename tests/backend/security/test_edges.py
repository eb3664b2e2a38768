"""The API's edges (issue 10): body and JSON-depth caps, import caps and unreadable files, id ranges,
out-of-range batch events, one error shape, spreadsheet formula neutralisation, UID-only cards."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from backend.auth.model import Role
from backend.billing.documents import Document
from backend.billing.exports import to_csv, to_xlsx
from backend.clock import FixedClock
from backend.imports.services import MAX_ROWS
from backend.ingest.model import MAX_WALL_MS
from shared_crypto import Method
from tests.backend.operations.conftest import LUNCH, Device, Setup

IMPORT = "/api/admin/v1/imports/pupils"


def _shape(r: object) -> None:
    body = r.json()  # type: ignore[attr-defined]
    assert set(body) >= {"reason", "detail"} and isinstance(body["reason"], str) and body["reason"]


def test_body_over_the_cap_is_refused_before_reading(client: TestClient) -> None:
    r = client.post(
        "/api/auth/v1/admin/login",
        content=b"{" + b" " * (200 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["reason"] == "TOO_LARGE"


def test_json_nesting_is_capped(client: TestClient) -> None:
    deep = "[" * 100 + "]" * 100
    r = client.post("/api/auth/v1/parent/otp", content=deep, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["reason"] == "JSON_TOO_DEEP"


def test_unparseable_body_has_the_error_shape(client: TestClient) -> None:
    r = client.post(
        "/api/auth/v1/parent/otp", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["reason"] == "BODY_UNREADABLE"
    r = client.post("/api/auth/v1/parent/otp", json={"phone": 5})
    assert r.status_code == 422 and r.json()["reason"] == "INVALID_REQUEST"
    for r in (client.get("/api/nowhere"), client.put("/api/auth/v1/parent/otp")):
        _shape(r)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("p.csv", b"iin\n123\n456\n"),  # one column: the dialect sniffer finds no delimiter
        ("p.csv", b"iin,full_name\n" + b'"' + b"x" * 200_000 + b'"\n'),  # a field past csv's limit
        ("p.json", b"[" * 50_000),  # nesting past the parser's recursion
    ],
)
def test_unreadable_import_files_answer_400(
    client: TestClient, admin_token: Callable[..., tuple[int, dict[str, str]]], name: str, data: bytes
) -> None:
    _, headers = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")
    r = client.post(IMPORT, files={"file": (name, data, "text/csv")}, headers=headers)
    assert r.status_code == 400 and r.json()["reason"] == "IMPORT_MALFORMED", r.text


def test_import_rows_are_capped(
    client: TestClient, admin_token: Callable[..., tuple[int, dict[str, str]]]
) -> None:
    _, headers = admin_token(Role.DISTRICT_ADMIN, (), "Almaly")
    data = b"iin,full_name,grade,class_name,school_bin\n" + b"1,a,1,1A,1\n" * (MAX_ROWS + 1)
    r = client.post(IMPORT, files={"file": ("p.csv", data, "text/csv")}, headers=headers)
    assert r.status_code == 400 and r.json()["reason"] == "IMPORT_TOO_MANY_ROWS"


@pytest.mark.parametrize(
    "path",
    [
        "/api/admin/v1/eligibility-lists/9223372036854775808",
        "/api/admin/v1/schools/99999999999999999999/pupils",
        "/api/parent/v1/vouchers/9223372036854775808/events",
        "/api/admin/v1/eligibility-lists/0",
        "/api/admin/v1/flagged-meals?school_id=9223372036854775808",
    ],
)
def test_ids_outside_the_database_range_are_malformed(
    client: TestClient, setup: Setup, parent_token: Callable[[int], dict[str, str]], path: str
) -> None:
    parent = path.startswith("/api/parent/")
    r = client.get(path, headers=parent_token(setup.parent_id) if parent else setup.admin)
    assert r.status_code == 422 and r.json()["reason"] == "INVALID_REQUEST"


def test_batch_event_the_server_cannot_date_is_refused_with_a_reason(
    client: TestClient, setup: Setup
) -> None:
    d = setup.device
    far = replace(d.event(setup.voucher_id, LUNCH), wall_ms=MAX_WALL_MS + 1)
    r = d.upload(client, d.batch([far]))
    assert r.status_code == 400 and r.json()["reason"] == "EVENT_OUT_OF_RANGE"
    assert f"seq {far.seq}" in r.json()["detail"]


def test_same_card_at_two_terminals_in_one_slot_is_flagged(
    client: TestClient, clock: FixedClock, setup: Setup, enrol_device: Callable[..., Device]
) -> None:
    other = enrol_device(setup.school_id)
    clock.set(LUNCH + timedelta(hours=6))
    first = replace(setup.device.event(setup.voucher_id, LUNCH), method=Method.CARD)
    second = replace(other.event(setup.voucher_id, LUNCH + timedelta(minutes=3)), method=Method.CARD)
    setup.device.upload(client, setup.device.batch([first]))
    assert other.upload(client, other.batch([second])).json()["flagged"] == 1
    r = client.get("/api/admin/v1/flagged-meals", params={"school_id": setup.school_id}, headers=setup.admin)
    flags = {f["code"] for m in r.json()["meals"] for f in m["flags"]}
    assert "CARD_ON_TWO_TERMINALS" in flags


def test_uid_only_cards_are_listed_for_the_school(client: TestClient, setup: Setup, ctx: object) -> None:
    from backend.roster.tables import Pupil

    with ctx.session_factory() as s:  # type: ignore[attr-defined]
        pseudonym = s.get(Pupil, setup.pupil_id).pseudonym.hex()
    r = client.post(
        "/api/admin/v1/cards/register",
        json={"pseudonym": pseudonym, "uid": "04a1b2c3d4e5f6"},
        headers=setup.admin,
    )
    assert r.status_code == 200, r.text
    listed = client.get(
        "/api/admin/v1/cards/uid-only", params={"school_id": setup.school_id}, headers=setup.admin
    )
    assert [c["pupil_id"] for c in listed.json()] == [setup.pupil_id]
    assert "full_name" not in listed.json()[0]


FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def _doc() -> Document:
    return Document(
        title="t",
        meta=(("school", "=1+1"),),
        header=("name", "n"),
        rows=tuple((f, 1) for f in FORMULAS),
        totals=("total", len(FORMULAS)),
    )


def test_csv_export_neutralises_formulas() -> None:
    rows = list(csv.reader(io.StringIO(to_csv(_doc()).decode("utf-8-sig"))))
    names = [r[0] for r in rows[3:-1]]
    assert names == ["'" + f for f in FORMULAS]
    assert rows[1] == ["school", "'=1+1"]


def test_xlsx_export_writes_formulas_as_text() -> None:
    ws = load_workbook(io.BytesIO(to_xlsx(_doc()))).active
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    risky = [c for c in cells if c.value.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert risky and all(c.data_type == "s" and c.quotePrefix for c in risky)


def test_a_calendar_view_past_year_9999_is_refused_not_crashed(client: TestClient, setup: Setup) -> None:
    r = client.get(
        f"/api/admin/v1/schools/{setup.school_id}/calendar",
        params={"start": "9999-12-31", "days": 5},
        headers=setup.admin,
    )
    assert (r.status_code, r.json()["reason"]) == (400, "BAD_RANGE")


def test_405_lists_every_method_of_the_path(client: TestClient, setup: Setup) -> None:
    r = client.options(f"/api/admin/v1/schools/{setup.school_id}/eligibility-lists")
    assert r.status_code == 405 and r.json()["reason"] == "METHOD_NOT_ALLOWED"
    assert r.headers["Allow"] == "GET, POST"

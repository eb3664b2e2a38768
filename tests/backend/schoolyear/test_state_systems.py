"""Documents to the state systems: the adapters (file drop, HTTP JSON), the worker's daily report to the
national education database with per-pupil statuses, and complaints forwarded to e-Otinish."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from backend.adapters.outbound import DeliveryError, FileDropSink, HttpJsonSink, canonical
from backend.clock import KZ_TZ, FixedClock
from backend.context import AppContext
from backend.delivery.services import deliveries
from backend.feedback.eotinish import EOTINISH
from backend.reporting.state_report import CHANNEL
from backend.roster.tables import Pupil
from backend.unit_of_work import UnitOfWork
from backend.worker import tick
from backend.year_jobs import push

from .conftest import CAT, Staff

SEPT = date(2026, 9, 1)


def _receiving(answers: list[httpx.Response], seen: list[httpx.Request]) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return httpx.Client(transport=httpx.MockTransport(handle))


def test_file_drop_writes_atomically_and_receipts_the_bytes(tmp_path: Path) -> None:
    sink = FileDropSink(tmp_path / "nedb")
    doc = {"format": "x/1", "text": "Сәлем"}
    receipt = sink.send("daily_report:Almaly:2026-09-14", doc)
    [written] = list((tmp_path / "nedb").iterdir())
    assert written.name == "daily_report_Almaly_2026-09-14.json"
    assert written.read_bytes() == canonical(doc)
    assert receipt.startswith("file:daily_report_Almaly_2026-09-14.json:sha256:")
    assert sink.send("daily_report:Almaly:2026-09-14", doc) == receipt  # the same key, the same bytes
    (tmp_path / "blocked").write_text("")
    with pytest.raises(DeliveryError):
        FileDropSink(tmp_path / "blocked").send("k", doc)


def test_http_json_sends_the_key_and_token_and_needs_a_receipt() -> None:
    seen: list[httpx.Request] = []
    answers = [
        httpx.Response(200, json={"receipt": "NEDB-1"}),
        httpx.Response(503, text="busy"),
        httpx.Response(200, json={"ok": True}),
    ]
    sink = HttpJsonSink("https://nedb.invalid/in", "t0k", client=_receiving(answers, seen))
    assert sink.send("k1", {"a": 1}) == "NEDB-1"
    assert (seen[0].headers["Idempotency-Key"], seen[0].headers["Authorization"]) == ("k1", "Bearer t0k")
    assert json.loads(seen[0].content) == {"a": 1}
    with pytest.raises(DeliveryError, match="HTTP 503"):
        sink.send("k2", {})
    with pytest.raises(DeliveryError, match="no receipt"):
        sink.send("k3", {})


def test_the_worker_pushes_yesterdays_report_with_per_pupil_statuses(
    ctx: AppContext,
    clock: FixedClock,
    tmp_path: Path,
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    registered: Callable[..., None],
    run_list: Callable[..., Any],
) -> None:
    school = make_school()
    small, unreached, returned = (
        make_pupil(school, grade=2),
        make_pupil(school, grade=6),
        make_pupil(school, grade=7),
    )
    link(small, make_parent())
    link(unreached, make_parent(phone=None))
    link(returned, make_parent())
    registered(unreached)  # `returned` is not in the state register
    day = clock.now().astimezone(KZ_TZ).date()
    run_list(school, [(small, None), (unreached, CAT), (returned, CAT)], day.replace(day=1))
    drop = tmp_path / "nedb"
    worker = dataclasses.replace(
        ctx, settings=dataclasses.replace(ctx.settings, extra={"SM_X_NEDB_DROP_DIR": str(drop)})
    )

    clock.set(datetime.combine(day + timedelta(days=1), datetime.min.time(), KZ_TZ) + timedelta(minutes=30))
    assert tick(worker)["documents_delivered"] == 0  # the report is due from 01:00
    clock.advance(timedelta(hours=1))
    assert tick(worker)["documents_delivered"] == 1
    assert tick(worker)["documents_delivered"] == 0  # once per district and day
    [file] = list(drop.iterdir())
    doc = json.loads(file.read_bytes())
    assert (doc["format"], doc["district"], doc["date"]) == ("sm-nedb-daily/1", "Almaly", day.isoformat())
    [at_school] = doc["schools"]
    with UnitOfWork(ctx.session_factory) as uow:
        alias = {
            uow.session.get(Pupil, p).pseudonym.hex(): name  # type: ignore[union-attr]
            for p, name in ((small, "small"), (unreached, "unreached"), (returned, "returned"))
        }
        [delivery] = deliveries(uow.session, CHANNEL)
    assert [
        (alias[p["pupil"]], p["grade"], p["voucher_status"], p["meals_served"]) for p in at_school["pupils"]
    ] == [("small", 2, "awaiting_activation", 0)]
    assert [(alias[r["pupil"]], r["reason"]) for r in at_school["returned"]] == [
        ("returned", "NOT_IN_REGISTER")
    ]
    assert [(alias[u["pupil"]], u["reason"]) for u in at_school["unreached"]] == [("unreached", "NO_PHONE")]
    assert "full_name" not in file.read_text() and "iin" not in doc["schools"][0]["pupils"][0]
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    assert delivery.receipt is not None and delivery.receipt.startswith(f"file:{file.name}:sha256:")


def test_a_failed_push_is_retried_after_its_back_off_and_receipted(
    ctx: AppContext,
    clock: FixedClock,
    client: TestClient,
    make_school: Callable[..., int],
    make_pupil: Callable[..., int],
    make_parent: Callable[..., int],
    link: Callable[..., None],
    parent_token: Callable[[int], dict[str, str]],
    people: Callable[..., Staff],
) -> None:
    school = make_school()
    pupil, parent = make_pupil(school, grade=3, full_name="Сейтқали Айгерим"), make_parent()
    link(pupil, parent)
    headers = parent_token(parent)
    r = client.post(
        "/api/parent/v1/complaints", json={"pupil_id": pupil, "text": "cold soup"}, headers=headers
    )
    complaint = r.json()["complaint_id"]
    assert r.json()["status"] == "received"
    seen: list[httpx.Request] = []
    answers = [httpx.Response(502), httpx.Response(200, json={"receipt": "EO-2026-77"})]
    sinks = {EOTINISH: HttpJsonSink("https://eotinish.invalid/appeals", client=_receiving(answers, seen))}
    assert push(ctx.session_factory, sinks, clock.now()) == {"delivered": 0, "failed": 0}  # not sent yet
    staff = people(school).headers
    district, forward = staff["district"], f"/api/admin/v1/complaints/{complaint}/forward"
    assert client.post(forward, headers=staff["head"]).status_code == 403  # the district decides
    r = client.post(forward, headers=district)
    assert (r.status_code, r.json()["status"]) == (200, "received")  # queued: forwarded once receipted
    r = client.post(forward, headers=district)
    assert (r.status_code, r.json()["reason"]) == (409, "ALREADY_FORWARDED")

    assert push(ctx.session_factory, sinks, clock.now()) == {"delivered": 0, "failed": 1}
    clock.advance(timedelta(seconds=30))
    assert push(ctx.session_factory, sinks, clock.now()) == {"delivered": 0, "failed": 0}  # backing off
    clock.advance(timedelta(minutes=2))
    assert push(ctx.session_factory, sinks, clock.now()) == {"delivered": 1, "failed": 0}
    appeal = json.loads(seen[-1].content)
    assert (appeal["format"], appeal["complaint_id"], appeal["text"]) == (
        "sm-eotinish-appeal/1",
        complaint,
        "cold soup",
    )
    assert "Айгерим" not in seen[-1].content.decode()  # the pupil's name never leaves
    assert seen[0].headers["Idempotency-Key"] == seen[-1].headers["Idempotency-Key"]
    [mine] = client.get("/api/parent/v1/complaints", headers=headers).json()["complaints"]
    assert (mine["status"], mine["appeal_ref"]) == ("forwarded", "EO-2026-77")

    r = client.post(
        f"/api/admin/v1/complaints/{complaint}/resolve", json={"resolution": "new cook"}, headers=district
    )
    assert r.json()["status"] == "answered"
    assert (
        client.post(f"/api/admin/v1/complaints/{complaint}/close", headers=district).json()["status"]
        == "closed"
    )
    r = client.post(f"/api/admin/v1/complaints/{complaint}/close", headers=district)
    assert (r.status_code, r.json()["reason"]) == (409, "ALREADY_CLOSED")
    [mine] = client.get("/api/parent/v1/complaints", headers=headers).json()["complaints"]
    assert mine["status"] == "closed"

"""The app factory: OpenAPI description, error shape, settings from the environment."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from backend.config import Settings


def test_openapi_lists_the_wallet_api(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    paths = set(doc["paths"])
    for p in (
        "/api/auth/v1/admin/login",
        "/api/parent/v1/vouchers",
        "/api/parent/v1/vouchers/{voucher_id}/qr",
        "/api/sms/v1/inbound",
        "/api/admin/v1/imports/{kind}",
        "/api/admin/v1/eligibility-lists/{list_id}/check",
    ):
        assert p in paths, p


def test_errors_have_reason_and_detail(client: TestClient) -> None:
    r = client.post("/api/auth/v1/admin/login", json={"login": "x"})
    assert (
        r.status_code == 422 and r.json()["reason"] == "INVALID_REQUEST" and "password" in r.json()["detail"]
    )
    r = client.get("/api/parent/v1/vouchers", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and set(r.json()) == {"reason", "detail"}


def test_settings_from_env(tmp_path: Path) -> None:
    s = Settings.from_env(
        {
            "SM_DATABASE_URL": "sqlite:///x.db",
            "SM_REPLY_AGREE": "2*1",
            "SM_REPLY_DECLINE": "2*5",
            "SM_SCHOOL_YEAR_END_MONTH": "6",
            "SM_SMS_WEBHOOK_TOKEN": "t",
            "SM_STATE_REGISTRY_FILE": str(tmp_path / "r.csv"),
        }
    )
    assert (s.reply_agree, s.reply_decline, s.school_year_end_month, s.sms_webhook_token) == (
        "2*1",
        "2*5",
        6,
        "t",
    )
    assert s.state_registry_file == tmp_path / "r.csv" and s.sms_outbox_file is None

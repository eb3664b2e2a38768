"""The committed OpenAPI description is the one the code serves (regenerate: `python -m backend.openapi`)."""

from __future__ import annotations

import json

from backend.openapi import DEFAULT_FILE, openapi_schema, render


def test_committed_openapi_is_current() -> None:
    assert DEFAULT_FILE.read_text(encoding="utf-8") == render(), "run `python -m backend.openapi`"


def test_every_area_is_described() -> None:
    paths = set(openapi_schema()["paths"])
    for prefix in (
        "/api/auth/v1/",
        "/api/parent/v1/vouchers",
        "/api/admin/v1/eligibility-lists",
        "/api/terminal/v1/meal-batches",
        "/api/admin/v1/billing/",
        "/api/admin/v1/reports/daily",
    ):
        assert any(p.startswith(prefix) for p in paths), prefix
    assert json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))["info"]["title"].startswith("School meals")

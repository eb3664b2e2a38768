"""The nightly export command writes the same figures the API serves."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from backend.reporting.__main__ import main

from .conftest import World


def test_cli_writes_json_and_csv(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend_url: str
) -> None:
    world.meal(0, date(2026, 9, 14))
    world.meal(3, date(2026, 9, 14), status="flagged")
    monkeypatch.setenv("SM_DATABASE_URL", backend_url)
    assert main(["2026-09-14", str(tmp_path / "out"), "--district", "Almaly"]) == 0
    body = json.loads((tmp_path / "out" / "daily-2026-09-14.json").read_text())
    mine = next(s for s in body["schools"] if s["school_name"] == "№5 мектеп-гимназиясы")
    assert (mine["meals_served"], mine["flagged_held"]) == (1, 1)
    rows = list(csv.DictReader((tmp_path / "out" / "daily-2026-09-14.csv").open(encoding="utf-8")))
    assert len(rows) == len(body["schools"]) == 2


def test_cli_bad_date(tmp_path: Path) -> None:
    assert main(["14.09.2026", str(tmp_path)]) == 2

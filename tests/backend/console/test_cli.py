"""The back end's command line: migrate, create the first district admin, and a server that refuses an
unmigrated database at start with one line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.__main__ import main
from backend.app import create_app
from backend.auth.services import login_admin
from backend.clock import SystemClock
from backend.config import Settings
from backend.db import SchemaNotCurrent, make_engine, make_session_factory
from backend.unit_of_work import UnitOfWork


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("SM_DATABASE_URL", url)
    monkeypatch.setenv("SM_KEY_DIR", str(tmp_path / "keys"))
    return url


def test_serve_refuses_an_unmigrated_database_with_one_line(
    fresh: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "python -m backend migrate" in err


def test_the_app_does_not_start_on_an_unmigrated_database(fresh: str, tmp_path: Path) -> None:
    app = create_app(Settings(database_url=fresh, key_dir=tmp_path / "keys"))
    with pytest.raises(SchemaNotCurrent), TestClient(app):
        pass


def test_migrate_then_create_admin_signs_in(
    fresh: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create-admin", "--login", "first.admin", "--district", "Almaly"]) == 2  # not migrated
    assert main(["migrate"]) == 0
    monkeypatch.setenv("SM_ADMIN_PASSWORD", "a-long-enough-password")
    assert main(["create-admin", "--login", "First.Admin", "--district", "Almaly"]) == 0
    assert main(["create-admin", "--login", "first.admin", "--district", "Almaly"]) == 2  # taken
    monkeypatch.setenv("SM_ADMIN_PASSWORD", "short")
    assert main(["create-admin", "--login", "second.admin", "--district", "Almaly"]) == 2
    assert "LOGIN_TAKEN" in capsys.readouterr().err
    engine = make_engine(fresh)
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            token = login_admin(
                uow,
                login="first.admin",
                password="a-long-enough-password",
                address="127.0.0.1",
                now=SystemClock().now(),
                ttl=timedelta(hours=1),
            )
        assert token
    finally:
        engine.dispose()


def test_the_operator_keeps_the_default_tariffs_from_the_command_line(
    fresh: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    day = ["--slot", "1", "--from", "2026-09-01"]
    assert main(["tariffs", "add", "--plan", "free", *day, "--amount", "900"]) == 0
    assert (
        main(["tariffs", "add", "--plan", "discounted", *day, "--amount", "900", "--state-share", "540,50"])
        == 0
    )
    later = ["--slot", "1", "--from", "2027-01-01", "--amount", "950"]
    assert main(["tariffs", "add", "--plan", "free", *later]) == 0
    capsys.readouterr()
    assert main(["tariffs", "add", "--plan", "free", *day, "--amount", "800"]) == 2  # same first day
    assert "TARIFF_OVERLAPS" in capsys.readouterr().err
    assert main(["tariffs", "add", "--plan", "discounted", *later]) == 2  # no state share
    assert main(["tariffs", "add", "--plan", "free", *day, "--amount", "nine"]) == 2
    assert "TARIFF_BAD_AMOUNT" in capsys.readouterr().err
    assert main(["tariffs", "list"]) == 0
    rows = [ln.split("\t") for ln in capsys.readouterr().out.splitlines()]
    assert [r[:3] for r in rows] == [
        ["free", "slot 1", "2026-09-01–2026-12-31"],
        ["free", "slot 1", "2027-01-01–…"],
        ["discounted", "slot 1", "2026-09-01–…"],
    ]
    assert "540,50" in rows[2][4] or "540.50" in rows[2][4]

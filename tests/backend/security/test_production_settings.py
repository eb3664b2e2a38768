"""Production refuses unsafe settings (issue 10): one line per problem, before anything is opened."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from backend.app import create_app
from backend.config import Settings
from backend.safety import UnsafeSettings, check_production

GOOD_SECRET = bytes(range(48))


def _safe(tmp_path: Path) -> Settings:
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700, parents=True)
    return Settings(
        env="production",
        database_url="postgresql+psycopg://app@db/meals",
        key_dir=keys,
        pseudonym_secret=GOOD_SECRET,
        sms_webhook_secret=bytes(range(100, 140)),
    )


def test_environment_default_is_production() -> None:
    assert Settings.from_env({}).env == "production"
    assert Settings.from_env({"SM_ENV": "development"}).env == "development"


def test_unsafe_defaults_refuse_to_start_naming_each_problem(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    os.chmod(keys, 0o755)
    (keys / "root.pem").write_text("x")
    os.chmod(keys / "root.pem", 0o644)
    settings = Settings(env="production", key_dir=keys)  # default secret, SQLite, open webhook
    with pytest.raises(UnsafeSettings) as refused:
        create_app(settings)
    problems = "\n".join(refused.value.problems)
    assert len(refused.value.problems) == 5, problems
    for needle in ("SM_PSEUDONYM_SECRET", "SMS webhook", "key directory", "root.pem", "SQLite"):
        assert needle in problems


def test_short_or_repetitive_secret_is_refused(tmp_path: Path) -> None:
    for secret in (b"x" * 20, b"ab" * 20):
        with pytest.raises(UnsafeSettings, match="at least 32 random bytes"):
            check_production(replace(_safe(tmp_path / secret.hex()[:8]), pseudonym_secret=secret))


def test_safe_settings_start(tmp_path: Path) -> None:
    check_production(_safe(tmp_path))  # no exception
    check_production(Settings())  # development is not checked


def test_secrets_come_from_files(tmp_path: Path) -> None:
    (tmp_path / "p").write_text("f" * 64 + "\n")
    (tmp_path / "w").write_text("w" * 40)
    s = Settings.from_env(
        {"SM_PSEUDONYM_SECRET_FILE": str(tmp_path / "p"), "SM_SMS_WEBHOOK_SECRET_FILE": str(tmp_path / "w")}
    )
    assert s.pseudonym_secret == b"f" * 64
    assert s.sms_webhook_secret == b"w" * 40


def test_worker_checks_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from backend import worker

    monkeypatch.setattr(Settings, "from_env", classmethod(lambda cls: Settings(env="production")))
    with pytest.raises(UnsafeSettings):
        worker.main(interval=0)

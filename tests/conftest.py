"""Fixtures every part of the suite may use. PostgreSQL: the real server, never a stand-in."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a reachable PostgreSQL server. Unreachable: fails under CI=true, else skips saying why."""
    import psycopg

    url = os.environ.get("SM_TEST_POSTGRES_URL", DEFAULT_PG)
    try:
        psycopg.connect(url.replace("+psycopg", ""), connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        msg = f"PostgreSQL at {url} is unreachable ({exc}); set SM_TEST_POSTGRES_URL"
        if _in_ci():
            pytest.fail(msg + " — CI=true, so PostgreSQL tests must run")
        pytest.skip(msg + " — PostgreSQL tests skipped on this machine")  # stated exception: no server here
    return url


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """A new, empty database for one test, dropped afterwards."""
    import psycopg

    admin = postgres_url.replace("+psycopg", "")
    name = f"sm_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

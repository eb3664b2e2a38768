"""The terminal map's read on PostgreSQL, where transactions commit in another order than they began.

Each changed row carries its writing transaction's id, and a read starts the next one at the oldest
transaction its snapshot saw running: a write that commits after a younger one was read is still read.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, update

from backend.context import AppContext
from backend.vouchers.tables import Voucher

from .conftest import Setup
from .test_allowlist import fetch
from .test_allowlist_not_modified import _mapped

pytestmark = pytest.mark.postgres


@pytest.fixture
def backend_url(pg_url: str) -> str:
    return pg_url


def _touch(conn: Connection, voucher_id: int) -> None:
    """A write the voucher's school's bundle depends on: its change counter rises."""
    conn.execute(update(Voucher).where(Voucher.id == voucher_id).values(min_serial=Voucher.min_serial + 1))


def test_a_write_committed_after_a_younger_one_was_read_is_read_next_time(
    client: TestClient,
    ctx: AppContext,
    school_setup: Callable[..., Setup],
) -> None:
    a, b = school_setup(), school_setup()
    fetch(client, a.device)
    m, _ = _mapped(client)
    versions = dict(m.snapshot.versions)
    with ctx.engine.connect() as older:
        _touch(older, a.voucher_id)  # begun first, committed last
        with ctx.engine.begin() as younger:
            _touch(younger, b.voucher_id)
        m.refresh()
        assert m.snapshot.versions[b.school_id] == versions[b.school_id] + 1  # the younger write is read…
        assert m.snapshot.versions[a.school_id] == versions[a.school_id]  # …the older is not committed yet
        older.commit()
    m.refresh()
    assert m.snapshot.versions[a.school_id] == versions[a.school_id] + 1

"""The API as several processes share one primary through PgBouncer in transaction pooling, and reads
that tolerate a bounded lag go to the streaming replica."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from backend.app import create_app
from backend.auth.model import Role
from backend.auth.testing import make_admin
from backend.config import Settings
from backend.db import ReadSessions, engine_options, make_engine, make_session_factory
from backend.unit_of_work import UnitOfWork

from .cluster import Cluster
from .seed import Terminal, meal_batches, post_batch, school_days, seed_schools

SCHOOLS, PUPILS, DAYS, BATCH = 4, 40, 5, 20  # 800 events in 40 batches


@pytest.fixture(scope="module")
def terminals(cluster: Cluster) -> list[Terminal]:
    return seed_schools(cluster.primary.dsn(), SCHOOLS, PUPILS)


def _interleave(dsn: str, **connect: object) -> None:
    """Two clients whose transactions overlap, so the pooler hands the second one's next transaction
    the server connection the first one used: a statement prepared on one is not on the other."""
    with psycopg.connect(dsn, **connect) as a, psycopg.connect(dsn, **connect) as b:  # type: ignore[arg-type]
        a.execute("SELECT 1").fetchall()
        b.execute("SELECT %s::int", (1,)).fetchall()
        b.commit()
        a.commit()
        b.execute("SELECT %s::int", (2,)).fetchall()
        b.commit()


def test_transaction_pooling_breaks_prepared_statements_unless_off(cluster: Cluster) -> None:
    dsn = cluster.bouncer_url().replace("+psycopg", "")
    with pytest.raises(psycopg.Error):
        _interleave(dsn, prepare_threshold=0)  # prepare every statement: what psycopg does after 5 runs
    _interleave(dsn, **engine_options(Settings(db_prepared_statements=False), dsn)["connect_args"])


def test_api_processes_ingest_through_pgbouncer(
    cluster: Cluster, terminals: list[Terminal], tmp_path: Path
) -> None:
    settings = Settings(
        database_url=cluster.bouncer_url(),
        db_prepared_statements=False,
        db_pre_ping=False,
        db_pool_size=3,
        key_dir=tmp_path / "keys",
    )
    work = {t.terminal_id: meal_batches(t, school_days(DAYS), BATCH) for t in terminals}
    total = sum(n for b in work.values() for _, n in b)
    apps = [create_app(settings), create_app(settings)]  # two API processes, one pooler, one primary
    statuses: list[int] = []
    accepted: list[int] = []

    def terminal_uploads(client: TestClient, t: Terminal) -> None:
        for body, _ in work[t.terminal_id]:
            r = post_batch(client, t, body)
            statuses.append(r.status_code)
            if r.status_code == 200:
                accepted.append(r.json()["accepted"])
            path = "/api/terminal/v1/allowlist"
            statuses.append(client.get(path, headers=t.headers("GET", path)).status_code)

    with TestClient(apps[0]) as c0, TestClient(apps[1]) as c1:
        threads = [
            threading.Thread(target=terminal_uploads, args=((c0, c1)[i % 2], t))
            for i, t in enumerate(terminals)
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        replay = [post_batch(c1, t, body).json() for t in terminals for body, _ in work[t.terminal_id][:2]]

    assert set(statuses) == {200}
    assert sum(accepted) == total
    assert all(r["accepted"] == 0 and r["duplicates"] == BATCH for r in replay)
    with psycopg.connect(cluster.primary.dsn()) as conn:
        assert conn.execute("SELECT count(*) FROM meal_events").fetchone() == (total,)


def _on_replica(session_factory: ReadSessions) -> tuple[bool, int]:
    with session_factory() as s:
        in_recovery = bool(s.scalar(text("SELECT pg_is_in_recovery()")))
        schools = int(s.scalar(text("SELECT count(*) FROM schools")) or 0)
    return in_recovery, schools


def test_reads_use_the_replica_while_its_lag_is_bounded(cluster: Cluster, terminals: list[Terminal]) -> None:
    primary = make_session_factory(make_engine(cluster.primary.url()))
    replica = make_session_factory(make_engine(cluster.replica.url()))
    reads = ReadSessions(primary, replica, max_lag=0.5, check_every=0.1)
    add = "INSERT INTO schools (id, bin, name, region, district) VALUES (%s, %s, 'New', 'Almaty', 'Scale')"
    cluster.wait_replayed()
    assert _on_replica(reads) == (True, SCHOOLS)

    with psycopg.connect(cluster.replica.dsn(), autocommit=True) as r:
        r.execute("SELECT pg_wal_replay_pause()")
        try:
            with psycopg.connect(cluster.primary.dsn(), autocommit=True) as p:
                p.execute(add, (90, "000000000090"))
            time.sleep(0.8)  # the replica has received the write but not applied it: past the bound
            assert _on_replica(reads) == (False, SCHOOLS + 1)  # the primary answers, with the new school
            with replica() as stale:  # what the replica alone would have said
                assert stale.scalar(text("SELECT count(*) FROM schools")) == SCHOOLS
        finally:
            r.execute("SELECT pg_wal_replay_resume()")
    cluster.wait_replayed()
    time.sleep(0.15)
    assert _on_replica(reads) == (True, SCHOOLS + 1)


def _report_meals(client: TestClient, headers: dict[str, str], day: str) -> int:
    r = client.get(f"/api/admin/v1/reports/daily?date={day}&school_id=1", headers=headers)
    assert r.status_code == 200, r.text
    [school] = r.json()["schools"]
    return int(school["meals_served"])


def test_daily_report_through_the_api_is_at_most_the_bound_behind(
    cluster: Cluster, terminals: list[Terminal], tmp_path: Path
) -> None:
    settings = Settings(
        database_url=cluster.primary.url(),
        replica_url=cluster.replica.url(),
        replica_max_lag_seconds=0.5,
        key_dir=tmp_path / "keys",
    )
    engine = make_engine(cluster.primary.url())
    with UnitOfWork(make_session_factory(engine)) as uow:
        _, token = make_admin(uow.session, Role.SCHOOL_HEAD, [1])
        uow.commit()
    headers = {"Authorization": f"Bearer {token}"}
    day = school_days(DAYS + 1)[0]  # a day the other tests left without meals
    with TestClient(create_app(settings)) as client:
        before = _report_meals(client, headers, day.isoformat())
        with psycopg.connect(cluster.replica.dsn(), autocommit=True) as r:
            r.execute("SELECT pg_wal_replay_pause()")
            try:
                [t] = [t for t in terminals if t.school_id == 1]
                [(body, n)] = meal_batches(Terminal(t.terminal_id, 1, t.key, t.vouchers[:3]), [day], 10)
                assert post_batch(client, t, body).json()["accepted"] == n
                time.sleep(0.5 + 1.0 + 0.3)  # the bound plus one lag check
                assert _report_meals(client, headers, day.isoformat()) == before + n  # from the primary
            finally:
                r.execute("SELECT pg_wal_replay_resume()")
        cluster.wait_replayed()
        assert _report_meals(client, headers, day.isoformat()) == before + n

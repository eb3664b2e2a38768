"""Failover during ingestion: the primary is killed while terminals upload, the replica is promoted, and
the terminals' retries leave every meal stored exactly once.

Commits are synchronous to the replica, so a batch a terminal was told is stored is on the replica too;
a batch whose answer was lost is sent again and its events are recognised as duplicates by their ids."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import psycopg
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.config import Settings

from .cluster import Cluster
from .seed import Terminal, meal_batches, post_batch, school_days, seed_schools

SCHOOLS, PUPILS, DAYS, BATCH = 3, 100, 10, 50  # 3,000 events in 60 batches


def _upload(client: TestClient, t: Terminal, batches: list[tuple[bytes, int]], acked: list[int],
            answers: list[dict[str, int]], stop: threading.Event) -> None:  # fmt: skip
    for body, n in batches:
        while not stop.is_set():
            try:
                r = post_batch(client, t, body)
            except httpx.HTTPError:
                r = None
            if r is not None and r.status_code == 200:
                answers.append(r.json())
                acked.append(n)
                break
            time.sleep(0.05)  # the terminal's uploader backs off and sends the same batch again


def test_killed_primary_promoted_replica_every_meal_once(own_cluster: Cluster, tmp_path: Path) -> None:
    cluster = own_cluster
    terminals = seed_schools(cluster.primary.dsn(), SCHOOLS, PUPILS)
    work = {t.terminal_id: meal_batches(t, school_days(DAYS), BATCH) for t in terminals}
    total = sum(n for b in work.values() for _, n in b)
    cluster.wait_replayed()
    app = create_app(Settings(database_url=cluster.failover_url(), key_dir=tmp_path / "keys"))
    acked: list[int] = []
    answers: list[dict[str, int]] = []
    stop = threading.Event()
    with TestClient(app, raise_server_exceptions=False) as client:
        threads = [
            threading.Thread(target=_upload, args=(client, t, work[t.terminal_id], acked, answers, stop))
            for t in terminals
        ]
        for th in threads:
            th.start()
        deadline = time.monotonic() + 60
        while sum(acked) < total // 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        stored_before_kill = sum(acked)
        cluster.primary.kill()
        cluster.replica.promote()
        for th in threads:
            th.join(timeout=120)
        stop.set()
        assert not any(th.is_alive() for th in threads), "uploads did not finish after the failover"
        # every batch again, as a terminal that never saw the answer would: nothing new is stored
        replay = [post_batch(client, t, body).json() for t in terminals for body, _ in work[t.terminal_id]]

    assert 0 < stored_before_kill < total
    assert sum(acked) == total
    with psycopg.connect(cluster.replica.dsn()) as conn:
        rows, distinct = conn.execute("SELECT count(*), count(DISTINCT id) FROM meal_events").fetchone() or (
            0,
            0,
        )
        in_recovery = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    assert in_recovery == (False,)
    assert rows == distinct == total
    assert sum(a["accepted"] for a in answers) + sum(a["duplicates"] for a in answers) == total
    assert all(r["accepted"] == 0 and r["duplicates"] > 0 for r in replay)

"""Meal events ingested per second into PostgreSQL through the real HTTP endpoint, with signed batches.

Writes bench/results/backend_ingest.json. A fresh database gets SCHOOLS schools with a lunch slot,
PUPILS_PER_SCHOOL active vouchers each and one enrolled terminal per school. The terminals' batches
(BATCH events, one meal per voucher per school day, signed with each terminal's own key) are made
before the clock starts, as a terminal makes them offline. uvicorn serves `backend.app:create_app` in
its own processes on a free port; CLIENTS threads with one httpx client each post the batches with a
fresh device token per request. Measured: wall time from the first request to the last answer.
A replay of every batch afterwards must answer only duplicates (idempotency under load).
Goal: at least 5,000 events/s on a 2-core machine.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from backend.db import init_schema
from tests.scale.seed import Terminal, meal_batches, school_days, seed_schools

from .serving import Server, fresh_database, pg_base_url, start_server
from .uploads import post_batches

SCHOOLS = 8
PUPILS_PER_SCHOOL = 600
SCHOOL_DAYS = 13  # 8 × 600 × 13 = 62,400 events
BATCH = 500
CLIENTS = 4
WORKERS = 2
GOAL = 5000.0


def _allowlist_ms(base_url: str, terminal: Terminal) -> dict[str, float]:
    """Median time of one terminal's allowlist request: first (signs), unchanged (stored bytes), 304."""
    path = "/api/terminal/v1/allowlist"

    def get(client: httpx.Client, etag: str | None = None) -> httpx.Response:
        headers = {**terminal.headers("GET", path), "Accept-Encoding": "gzip"}
        if etag:
            headers["If-None-Match"] = etag
        r = client.get(path, headers=headers)
        if r.is_error:
            r.raise_for_status()
        return r

    with httpx.Client(base_url=base_url, timeout=30) as client:
        t0 = time.perf_counter()
        etag = get(client).headers["ETag"]
        first = time.perf_counter() - t0
        full, cond = [], []
        for _ in range(20):
            t0 = time.perf_counter()
            get(client)
            full.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            assert get(client, etag).status_code == 304
            cond.append(time.perf_counter() - t0)
    return {
        "entries": PUPILS_PER_SCHOOL,
        "first_signed_ms": round(first * 1000, 1),
        "unchanged_200_median_ms": round(statistics.median(full) * 1000, 1),
        "not_modified_304_median_ms": round(statistics.median(cond) * 1000, 1),
    }


def main(results_dir: Path) -> None:
    db = fresh_database("sm_bench_ingest")
    if db is None:
        raise RuntimeError(f"PostgreSQL unreachable at {pg_base_url()}")
    url, drop = db
    server: Server | None = None
    try:
        init_schema(url)
        terminals = seed_schools(url.replace("+psycopg", ""), SCHOOLS, PUPILS_PER_SCHOOL)
        t0 = time.perf_counter()
        days = school_days(SCHOOL_DAYS)
        per_terminal = [[(t, body) for body, _ in meal_batches(t, days, BATCH)] for t in terminals]
        # interleaved, as canteens upload side by side
        batches = [b for group in itertools.zip_longest(*per_terminal) for b in group if b is not None]
        sign_s = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as keydir:
            server = start_server({"SM_DATABASE_URL": url, "SM_KEY_DIR": keydir}, workers=WORKERS)
            base = server.base
            load_before = os.getloadavg()
            run = post_batches(base, batches, clients=CLIENTS)
            replay = post_batches(base, batches[: len(batches) // 4], clients=CLIENTS).totals
            allowlist = _allowlist_ms(base, terminals[0])
        events, elapsed, totals = run.totals["accepted"], run.seconds, run.totals
        rate = events / elapsed
        result = {
            "events": events,
            "batches": len(batches),
            "batch_size": BATCH,
            "clients": CLIENTS,
            "uvicorn_workers": WORKERS,
            "schools": SCHOOLS,
            "seconds": round(elapsed, 3),
            "events_per_second": round(rate),
            "goal_events_per_second": GOAL,
            "meets_goal": rate >= GOAL,
            "batch_latency_ms": {"p50": run.p(50), "p99": run.p(99)},
            "answers": totals,
            "replay_of_a_quarter": replay,
            "replay_all_duplicates": replay["accepted"] == 0 and replay["duplicates"] > 0,
            "client_signing_seconds_not_measured": round(sign_s, 2),
            "allowlist_request": allowlist,
            # other work on the machine shares its 2 cores with server, database and clients
            "load_average_1_5_15_before": [round(x, 2) for x in load_before],
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
        }
        (results_dir / "backend_ingest.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
    finally:
        if server is not None:
            server.stop()
        drop()


if __name__ == "__main__":
    main(Path(__file__).parent / "results")

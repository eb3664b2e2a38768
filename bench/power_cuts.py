"""Power cuts while serving: SIGKILL a serving simulated terminal again and again, then audit its journal.

Lanes run side by side (one per core), each with its own data dir. Each round starts
bench/power_cut_child.py and kills it with SIGKILL at a random moment: mostly while it serves (after
READY), sometimes during start-up (while it reopens the journal). Consecutive rounds overlap in the
vouchers they present, so the one-meal rule is exercised across crashes. The audit: every ACKed event
(printed only after SERVE, i.e. after the commit) is in the journal exactly once (losses 0), no event id
twice and no voucher served twice in a slot (duplicates 0), `PRAGMA integrity_check` ok, seqs unique and
rising. Used by `make soak` (1,000 kills) and by tests/device/test_power_cut.py (fewer).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from device.sim import scenario
from shared_crypto import MealSlot

ROOT = Path(__file__).resolve().parents[1]
PER_ROUND = 30  # vouchers a child presents; a round is killed long before it gets through them
STEP = 15  # the next round starts halfway through the last one's vouchers
VOUCHERS = 4000


@dataclass
class Lane:
    data_dir: Path
    rng: random.Random
    acked: list[str] = field(default_factory=list)
    kills: int = 0
    finished: int = 0  # rounds that ended on their own before the kill
    integrity_checks: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Audit:
    kills: int
    finished_rounds: int
    acknowledged: int
    records: int
    served_records: int
    losses: int  # acknowledged meals not in the journal exactly once
    duplicates: int  # event ids journaled twice + vouchers served twice in one slot + ACKs printed twice
    refused_already_served: int  # the one-meal rule at work across restarts
    integrity: list[str]
    seqs_rising: bool
    errors: list[str]
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return (
            not self.losses
            and not self.duplicates
            and all(r == "ok" for r in self.integrity)
            and self.seqs_rising
            and not self.errors
        )


def provision(data_dir: Path) -> None:
    keys = scenario.Keys()
    now = int(time.time())
    today = dt.datetime.fromtimestamp(now + scenario.KZ_OFFSET_MIN * 60, dt.UTC).date()
    cal = scenario.school_calendar((today, today + dt.timedelta(days=1)), slots=(MealSlot(1, 0, 1440),))
    b = scenario.bundle(days=(), cal=cal, generated_at=now - 60, valid_until=now + 86_400, n=VOUCHERS)
    scenario.provision(data_dir, keys, b)
    (data_dir / "issuer.seed").write_bytes(keys.issuer.seed())


def integrity(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def run_lane(lane: Lane, rounds: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for i in range(rounds):
        first = 1 + (i * STEP) % (VOUCHERS - PER_ROUND)
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.power_cut_child", str(lane.data_dir), str(first), str(PER_ROUND)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        assert child.stdout is not None
        if lane.rng.random() < 0.15:
            time.sleep(lane.rng.uniform(0.0, 0.22))  # may land during start-up or journal recovery
        else:
            line = child.stdout.readline()
            if line != b"READY\n":
                child.kill()
                lane.errors.append(f"round {i}: no READY ({line!r}, {child.communicate()[1][-500:]!r})")
                continue
            time.sleep(lane.rng.uniform(0.0, 0.04))
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate()
        if child.returncode == -signal.SIGKILL:
            lane.kills += 1
        elif child.returncode == 0:
            lane.finished += 1
        else:
            lane.errors.append(f"round {i}: exit {child.returncode}: {err[-500:]!r}")
        lines = out.split(b"\n")[:-1]  # the last piece has no newline: not a whole line
        lane.acked += [ln.decode().split()[1] for ln in lines if ln.startswith(b"ACK ")]
        if i % 40 == 39:
            lane.integrity_checks += 1
            if (res := integrity(lane.data_dir / "journal.sqlite3")) != "ok":
                lane.errors.append(f"round {i}: integrity {res}")


def run(workdir: Path, kills: int, lanes: int = 2, seed: int = 1000) -> Audit:
    all_lanes = []
    for n in range(lanes):
        d = workdir / f"lane{n}"
        provision(d)
        all_lanes.append(Lane(d, random.Random(seed + n)))
    rounds = -(-kills // lanes)
    threads = [threading.Thread(target=run_lane, args=(lane, rounds)) for lane in all_lanes]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    return audit(all_lanes, elapsed)


def audit(lanes: list[Lane], elapsed_s: float) -> Audit:
    totals = {"records": 0, "served": 0, "losses": 0, "duplicates": 0, "refused": 0}
    checks: list[str] = []
    rising = True
    errors: list[str] = []
    for lane in lanes:
        errors += lane.errors
        db = lane.data_dir / "journal.sqlite3"
        checks.append(integrity(db))
        con = sqlite3.connect(db)
        try:
            seqs = [r[0] for r in con.execute("SELECT seq FROM events ORDER BY rowid")]
            counts = dict(con.execute("SELECT hex(event_id), count(*) FROM events GROUP BY event_id"))
            doubles = con.execute(
                "SELECT count(*) FROM (SELECT 1 FROM events WHERE served = 1"
                " GROUP BY voucher_id, day, slot HAVING count(*) > 1)"
            ).fetchone()[0]
            served = con.execute("SELECT count(*) FROM events WHERE served = 1").fetchone()[0]
            refused = con.execute("SELECT count(*) FROM events WHERE reason = 'ALREADY_SERVED'").fetchone()[0]
        finally:
            con.close()
        rising = rising and len(seqs) == len(set(seqs)) and seqs == sorted(seqs)
        totals["records"] += len(seqs)
        totals["served"] += served
        totals["refused"] += refused
        totals["losses"] += sum(counts.get(a.upper()) != 1 for a in lane.acked)
        totals["duplicates"] += (
            sum(n - 1 for n in counts.values() if n > 1) + doubles + len(lane.acked) - len(set(lane.acked))
        )
    return Audit(
        kills=sum(lane.kills for lane in lanes),
        finished_rounds=sum(lane.finished for lane in lanes),
        acknowledged=sum(len(lane.acked) for lane in lanes),
        records=totals["records"],
        served_records=totals["served"],
        losses=totals["losses"],
        duplicates=totals["duplicates"],
        refused_already_served=totals["refused"],
        integrity=checks,
        seqs_rising=rising,
        errors=errors[:5],
        elapsed_s=round(elapsed_s, 1),
    )

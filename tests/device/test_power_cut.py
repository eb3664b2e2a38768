"""Power cuts while serving: SIGKILL a serving terminal hundreds of times, then audit the journal.

Two lanes run side by side (one per core), each with its own data dir. Each round starts
tests/device/power_cut_child.py on the lane's terminal and kills it with SIGKILL at a random moment:
mostly while it serves (after READY), sometimes during start-up (while it reopens the journal).
Consecutive rounds overlap in the vouchers they present, so the one-meal rule is tested across crashes.
Afterwards: every ACKed event (printed only after SERVE, i.e. after the commit) is in the journal exactly
once, `PRAGMA integrity_check` is ok, seqs are unique and rising, and no voucher ate twice in a slot.
SM_POWER_CUT_KILLS sets the total number of kills (default 320).
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

import pytest

from device.sim import scenario
from shared_crypto import MealSlot

ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("SM_POWER_CUT_KILLS", "320"))
LANES = 2
PER_ROUND = 30  # vouchers a child presents; a round is killed long before it gets through them
STEP = 15  # next round starts halfway through the last one's vouchers
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
            [
                sys.executable,
                "-m",
                "tests.device.power_cut_child",
                str(lane.data_dir),
                str(first),
                str(PER_ROUND),
                str(scenario.SCHOOL_ID),
            ],
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


@pytest.mark.slow
def test_every_acknowledged_meal_survives_sigkill(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lanes = []
    for n in range(LANES):
        d = tmp_path / f"lane{n}"
        provision(d)
        lanes.append(Lane(d, random.Random(1000 + n)))
    rounds = -(-KILLS // LANES)
    threads = [threading.Thread(target=run_lane, args=(lane, rounds)) for lane in lanes]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0

    total_kills = total_acked = total_records = 0
    for lane in lanes:
        assert not lane.errors, lane.errors[:5]
        db = lane.data_dir / "journal.sqlite3"
        assert integrity(db) == "ok"
        con = sqlite3.connect(db)
        try:
            seqs = [r[0] for r in con.execute("SELECT seq FROM events ORDER BY rowid")]
            counts = dict(con.execute("SELECT hex(event_id), count(*) FROM events GROUP BY event_id"))
            doubles = con.execute(
                "SELECT voucher, day, slot, count(*) FROM events WHERE served = 1"
                " GROUP BY voucher, day, slot HAVING count(*) > 1"
            ).fetchall()
            refused_again = con.execute(
                "SELECT count(*) FROM events WHERE reason = 'ALREADY_SERVED'"
            ).fetchone()[0]
        finally:
            con.close()
        assert len(seqs) == len(set(seqs)) and seqs == sorted(seqs)
        missing = [a for a in lane.acked if counts.get(a.upper()) != 1]
        assert not missing, f"{len(missing)} acknowledged meals not in the journal exactly once"
        assert len(set(lane.acked)) == len(lane.acked)
        assert not doubles, doubles[:5]
        assert refused_again > 0  # the overlap did exercise the one-meal rule after restarts
        total_kills += lane.kills
        total_acked += len(lane.acked)
        total_records += len(seqs)
    assert total_kills >= KILLS * 0.9  # almost every round was cut, not finished
    with capsys.disabled():
        print(
            f"\npower-cut: {total_kills} SIGKILLs in {elapsed:.0f} s, {total_acked} acknowledged meals all"
            f" in the journal exactly once, {total_records} records, integrity ok"
        )

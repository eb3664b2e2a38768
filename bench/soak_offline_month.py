"""30 days offline at 2,000 meals a day (bench/offline_month.py), under two allowlist policies; figures to
soak_offline_month.json. SM_SOAK_DAYS / SM_SOAK_MEALS shorten it for a quick look."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from dataclasses import asdict
from pathlib import Path

from . import offline_month

DAYS = int(os.environ.get("SM_SOAK_DAYS", "30"))
MEALS = int(os.environ.get("SM_SOAK_MEALS", "2000"))


def main(results_dir: Path) -> bool:
    runs = []
    ok = True
    for policy in (offline_month.MONTH_OFFLINE, offline_month.DEFAULT):
        with tempfile.TemporaryDirectory(prefix="soak-offline-") as tmp:
            r = offline_month.run(Path(tmp), days=DAYS, meals_per_day=MEALS, policy=policy)
        ok = ok and r.exactly_once
        runs.append({**asdict(r), "exactly_once": r.exactly_once})
        print(
            f"{policy.name}: {r.presented} presented, {r.verdicts}; faults first seen (h after the last"
            f" sync) {r.fault_first_seen_h}; journal {r.journal_records} records"
            f" {r.journal_bytes_before_upload / 2**20:.1f} MiB; upload {r.upload_events} events in"
            f" {r.upload_batches} batches, {r.upload_s:.2f} s; stored {r.stored_at_backend},"
            f" missing {r.missing_at_backend}, second round {r.second_round_events};"
            f" clock {r.clock_error_s_before_resync:+.2f} s before resync;"
            f" {'exactly once' if r.exactly_once else 'NOT exactly once'} ({r.elapsed_s:.0f} s)",
            flush=True,
        )
    report = {
        "what": "simulated clock, RTC drifting; terminal on 07:30-18:00, hourly refused sync attempts;"
        " then one sync round with one lost batch response, and a second round",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), CPython {platform.python_version()}",
        "journal_on": "this machine's disk (virtio), synchronous=FULL",
        "runs": runs,
    }
    (results_dir / "soak_offline_month.json").write_text(json.dumps(report, indent=2) + "\n")
    return ok

"""1,000 SIGKILLs against a serving simulated terminal (bench/power_cuts.py); figures to soak_power_cut.json.

SM_SOAK_KILLS overrides the number of kills (for a quick look; the committed figures are for 1,000).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from dataclasses import asdict
from pathlib import Path

from . import power_cuts

KILLS = int(os.environ.get("SM_SOAK_KILLS", "1000"))


def main(results_dir: Path) -> bool:
    with tempfile.TemporaryDirectory(prefix="soak-power-cut-") as tmp:
        a = power_cuts.run(Path(tmp), KILLS)
    report = {
        "what": "SIGKILL of a simulated terminal serving QR (camera thread) and cards (reader thread),"
        " housekeeping and checkpointer running; 2 lanes, rounds overlap in vouchers",
        "kills_asked": KILLS,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), CPython {platform.python_version()}",
        **asdict(a),
        "ok": a.ok,
    }
    (results_dir / "soak_power_cut.json").write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"power cuts: {a.kills} SIGKILLs ({a.finished_rounds} rounds ended first) in {a.elapsed_s:.0f} s;"
        f" {a.acknowledged} acknowledged meals, {a.records} records ({a.served_records} served),"
        f" losses {a.losses}, duplicates {a.duplicates}, ALREADY_SERVED refusals {a.refused_already_served},"
        f" integrity {a.integrity}, {'OK' if a.ok else 'FAILED ' + str(a.errors)}"
    )
    return a.ok

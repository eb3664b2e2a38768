"""The staff's screen: time from a decision's journal commit to its server-sent event at the reader.

Writes bench/results/kiosk.json. A simulated terminal (2,000-pupil allowlist, journal on this machine's
disk) serves `DECISIONS` meals, one every `PACE_S` (a serving line, not a burst), while an event-stream
client reads the kiosk server's /events over loopback, as the screen's browser does. For each decision
the clock starts when the engine's present_qr returns (the record is committed to the SQLite WAL journal
by then) and stops when the client has read the event whose id is the board's version after that
decision. The goal (issue 14): within 100 ms.
"""

from __future__ import annotations

import http.client
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.bench_device import serving_terminal
from device.interfaces import Verdict
from device.kiosk.board import Shown
from device.kiosk.server import KioskServer
from device.sim import scenario

DECISIONS = 400
PACE_S = 0.02
GOAL_MS = 100.0


def _percentile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


class _Reader(threading.Thread):
    """The screen's side: reads /events and notes when each event id arrived."""

    def __init__(self, port: int) -> None:
        super().__init__(name="sse-reader", daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.arrived: dict[int, float] = {}
        self.ready = threading.Event()

    def run(self) -> None:
        self.conn.request("GET", "/events", headers={"Accept": "text/event-stream"})
        resp = self.conn.getresponse()
        assert resp.status == 200, resp.status
        self.ready.set()
        while line := resp.fp.readline():
            if line.startswith(b"id: "):
                self.arrived[int(line[4:])] = time.perf_counter()


def measure(data_dir: Path) -> dict[str, Any]:
    term, keys, now, _cfg = serving_terminal(data_dir)
    journaled: list[float] = []
    versions: list[int] = []
    engine_qr = term.engine.present_qr
    board_decided = term.board.decided

    def timed_qr(text: str) -> Verdict:
        v = engine_qr(text)
        journaled.append(time.perf_counter())  # the record is committed when the engine returns
        return v

    def noted(shown: Shown) -> None:
        board_decided(shown)
        versions.append(term.board.version)

    term.engine.present_qr = timed_qr  # type: ignore[method-assign]
    term.board.decided = noted  # type: ignore[method-assign]
    server = KioskServer(term.board, port=0)
    server.start()
    reader = _Reader(server.port)
    reader.start()
    reader.ready.wait(10)
    texts = [scenario.qr_text(keys, 1 + i, now) for i in range(DECISIONS)]
    served = 0
    for text in texts:
        served += term.present_qr(text).served
        time.sleep(PACE_S)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and max(reader.arrived, default=-1) < versions[-1]:
        time.sleep(0.01)
    server.stop()
    term.close()
    arrived = sorted(reader.arrived.items())
    latencies = []
    for t_journal, version in zip(journaled, versions, strict=True):
        # the first event showing this decision (a later version carries it too)
        t_seen = next((t for v, t in arrived if v >= version), None)
        assert t_seen is not None, f"version {version} never reached the reader"
        latencies.append((t_seen - t_journal) * 1000)
    return {
        "decisions": DECISIONS,
        "served": served,
        "median_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(_percentile(latencies, 0.99), 3),
        "max_ms": round(max(latencies), 3),
        "within_goal": sum(x <= GOAL_MS for x in latencies),
    }


def main(results: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-", dir=Path.home()) as tmp:
        runs = [measure(Path(tmp) / f"run{i}") for i in range(3)]
    out = {
        "what": "decision committed to the journal -> its server-sent event read by a client on loopback",
        "machine": f"{platform.machine()}, {sys.version.split()[0]}",
        "pace_s": PACE_S,
        "goal_ms": GOAL_MS,
        "runs": runs,
        "p99_ms_worst_run": max(r["p99_ms"] for r in runs),
        "goal_met_every_run": all(r["within_goal"] == r["decisions"] for r in runs),
    }
    (results / "kiosk.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main(Path(__file__).parent / "results")

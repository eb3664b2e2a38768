"""The soft-decision reader (device/hw/soft_qr.py) as the cascade's last pass, on the hard set.

`python -m bench soft_qr`: every hard frame through the cascade alone (the floor) and through the
cascade followed by the soft reader when it reads nothing, at the cascade's budget and at shorter ones
(6 ms is the terminal's decoder, cascade.terminal_decoder); exact decodes, wrong texts and thread CPU
per frame (the minimum of REPEATS runs), overall and per kind. On the mixtures the cascade misses, the
share of data modules the reader's first estimate (before any block is decoded) gets wrong against the
encoder's modules (1.0 where no blur model fits: the grid is lost). Figures go to
bench/results/soft_qr.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from device.hw import qr_layout as L
from device.hw.cascade import TERMINAL_BUDGET_MS, CascadeDecoder, find_screen
from device.hw.hard_frames import Hard, HardSample, generate_hard
from device.hw.soft_qr import deconvolved, locate
from device.hw.testimages import qr_modules

from .bench_decoders import PER_HARD_KIND, REPEATS


def _timed(decoder: CascadeDecoder, s: HardSample) -> tuple[list[bytes], float]:
    best = float("inf")
    got: list[bytes] = []
    for _ in range(REPEATS):
        t0 = time.thread_time()
        got = decoder.decode_bytes(s.frame)
        best = min(best, (time.thread_time() - t0) * 1000)
    return got, best


def _module_errors(s: HardSample) -> float | None:
    """The reader's first estimate's wrong data modules, as a share of the data modules."""
    q = find_screen(_half(s.frame))
    if q is None:
        return None
    truth = qr_modules(s.payload.decode())[4:-4, 4:-4]
    img = s.frame.astype(np.float32)
    m = deconvolved(img, locate(img, q))
    return 1.0 if m is None else float(((m > 0.5) != truth)[~L.FUNCTION].mean())


def _half(frame: np.ndarray) -> np.ndarray:
    """The half-size view the cascade finds the screen on."""
    return np.asarray(cv2.resize(frame, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA), np.uint8)


def _run(decoder: CascadeDecoder, hard: list[HardSample]) -> dict[str, Any]:
    per: dict[str, dict[str, Any]] = {}
    for kind in Hard:
        ok = wrong = 0
        ms: list[float] = []
        for s in (x for x in hard if x.kind is kind):
            got, t = _timed(decoder, s)
            ok += got == [s.payload]
            wrong += bool(got) and got != [s.payload]
            ms.append(t)
        per[kind.value] = {
            "decoded": ok,
            "wrong_texts": wrong,
            "mean_ms": round(float(np.mean(ms)), 3),
            "_ms": ms,
        }
    every = [t for v in per.values() for t in v.pop("_ms")]
    n = len(every)
    overall = {
        "frames": n,
        "decoded": sum(v["decoded"] for v in per.values()),
        "rate": round(sum(v["decoded"] for v in per.values()) / n, 4),
        "wrong_texts": sum(v["wrong_texts"] for v in per.values()),
        "mean_ms": round(float(np.mean(every)), 3),
        "p99_ms": round(float(np.percentile(every, 99)), 3),
    }
    return {"overall": overall, "by_kind": per}


CONFIGS: dict[str, dict[str, Any]] = {
    "cascade": {},
    "cascade, then the soft reader": {"soft_reader": True},
    "cascade with a 8 ms budget, then the soft reader": {"soft_reader": True, "budget_ms": 8.0},
    "cascade with a 6 ms budget, then the soft reader (the terminal's decoder)": {
        "soft_reader": True,
        "budget_ms": TERMINAL_BUDGET_MS,
    },
    "cascade with a 4 ms budget, then the soft reader": {"soft_reader": True, "budget_ms": 4.0},
    "cascade with a 6 ms budget (the floor of the terminal's decoder)": {"budget_ms": TERMINAL_BUDGET_MS},
}


def main(results_dir: Path) -> None:
    hard = list(generate_hard(PER_HARD_KIND))
    report: dict[str, Any] = {"hard_frames_per_kind": PER_HARD_KIND, "configurations": {}}
    for name, kwargs in CONFIGS.items():
        report["configurations"][name] = _run(CascadeDecoder(**kwargs), hard)
        print(name, json.dumps(report["configurations"][name]["overall"]), flush=True)
    cascade = CascadeDecoder()
    errors: list[float] = []
    for s in hard:
        if s.kind is Hard.MIXTURE and cascade.decode_bytes(s.frame) != [s.payload]:
            e = _module_errors(s)
            if e is not None:
                errors.append(e)
    report["cascade_misses"] = {
        "with_screen_found": len(errors),
        "data_module_error_median": round(float(np.median(errors)), 4) if errors else None,
        "data_module_error_below_2pct": sum(e < 0.02 for e in errors),
        "data_module_errors": sorted(round(e, 4) for e in errors),
    }
    print("cascade misses", json.dumps(report["cascade_misses"]))
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "soft_qr.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(__file__).parent / "results")

"""The soft-decision reader (device/hw/soft_qr.py) as the cascade's last pass, on the hard set.

`python -m bench.soft_qr_experiment`: for every hard frame, the cascade alone and the cascade followed
by the soft reader when it reads nothing; exact decodes, wrong texts and thread CPU per frame (the
minimum of REPEATS runs), overall and per kind; and, on the frames the cascade misses, the share of
data modules the reader's best variant gets wrong (against the encoder's modules) and how many it
reads. Figures go to bench/results/soft_qr.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from device.hw import qr_layout as L
from device.hw.cascade import CascadeDecoder, find_screen
from device.hw.hard_frames import Hard, HardSample, generate_hard
from device.hw.soft_qr import VARIANTS, equalize, levels, locate, smoothed
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
    """The fewest wrong data modules over the reader's variants, as a share of the data modules."""
    q = find_screen(_half(s.frame))
    if q is None:
        return None
    truth = qr_modules(s.payload.decode())[4:-4, 4:-4]
    img = s.frame.astype(np.float32)
    corners = locate(img, q)
    pitch = float(np.linalg.norm(corners[1] - corners[0])) / L.SIZE
    best = 1.0
    for smooth, equalized in VARIANTS:
        y = levels(smoothed(img, smooth * pitch), corners)
        m = equalize(y) if equalized else y
        if m is not None:
            best = min(best, float(((m > 0.5) != truth)[~L.FUNCTION].mean()))
    return best


def _half(frame: np.ndarray) -> np.ndarray:
    """The half-size view the cascade finds the screen on."""
    return np.asarray(cv2.resize(frame, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA), np.uint8)


def main(results_dir: Path) -> None:
    hard = list(generate_hard(PER_HARD_KIND))
    cascade = CascadeDecoder()
    paired = CascadeDecoder(soft_reader=True)
    per: dict[str, dict[str, Any]] = {}
    all_c: list[float] = []
    all_p: list[float] = []
    missed_errors: list[float] = []
    for kind in Hard:
        ok_c = ok_p = wrong = 0
        ms_c: list[float] = []
        ms_p: list[float] = []
        for s in (x for x in hard if x.kind is kind):
            got_c, tc = _timed(cascade, s)
            got_p, tp = _timed(paired, s)
            ok_c += got_c == [s.payload]
            ok_p += got_p == [s.payload]
            wrong += bool(got_p) and got_p != [s.payload]
            ms_c.append(tc)
            ms_p.append(tp)
            if got_c != [s.payload]:
                e = _module_errors(s)
                if e is not None:
                    missed_errors.append(e)
        per[kind.value] = {
            "frames": len(ms_c),
            "cascade": ok_c,
            "cascade_then_soft": ok_p,
            "wrong_texts": wrong,
            "cascade_mean_ms": round(float(np.mean(ms_c)), 3),
            "cascade_then_soft_mean_ms": round(float(np.mean(ms_p)), 3),
        }
        all_c += ms_c
        all_p += ms_p
        print(kind.value, json.dumps(per[kind.value]), flush=True)
    n = len(all_c)
    overall = {
        "frames": n,
        "cascade_rate": round(sum(v["cascade"] for v in per.values()) / n, 4),
        "cascade_then_soft_rate": round(sum(v["cascade_then_soft"] for v in per.values()) / n, 4),
        "wrong_texts": sum(v["wrong_texts"] for v in per.values()),
        "cascade_mean_ms": round(float(np.mean(all_c)), 3),
        "cascade_then_soft_mean_ms": round(float(np.mean(all_p)), 3),
        "missed_frames_module_error_median": round(float(np.median(missed_errors)), 4)
        if missed_errors
        else None,
        "missed_frames_module_error_below_2pct": sum(e < 0.02 for e in missed_errors),
        "missed_frames_with_screen": len(missed_errors),
    }
    print("overall", json.dumps(overall))
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "soft_qr.json").write_text(
        json.dumps({"overall": overall, "by_kind": per}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main(Path(__file__).parent / "results")

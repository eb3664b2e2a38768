"""Writes the hard-set frames the cascade misses as PNGs, with what each was drawn with, to look at them.

`python -m bench.hard_misses DIR [SEED]`: the bench's seed by default; no CPU budget, so the misses are
what no pass of the order reads, not what a loaded machine ran out of time for. DIR/misses.json lists
each file with its kind, the distortions applied and their levels.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from PIL import Image

from device.hw.cascade import CascadeDecoder
from device.hw.hard_frames import HardSample, generate_hard

PER_KIND = 60


def write_misses(out: Path, samples: Iterable[HardSample]) -> list[dict[str, object]]:
    """Each sample the cascade does not read exactly, as `out`/<index>_<kind>.png and a misses.json entry."""
    out.mkdir(parents=True, exist_ok=True)
    cascade = CascadeDecoder(budget_ms=None)
    misses: list[dict[str, object]] = []
    for i, s in enumerate(samples):
        if cascade.decode_bytes(s.frame) == [s.payload]:
            continue
        name = f"{i:03d}_{s.kind.value}.png"
        Image.fromarray(s.frame).save(out / name)
        params = asdict(s.params)
        params["applied"] = [a.value for a in s.params.applied]
        misses.append({"file": name, "kind": s.kind.value, **params})
    (out / "misses.json").write_text(json.dumps(misses, indent=2) + "\n")
    return misses


def main(out: Path, seed: int | None = None) -> int:
    samples = generate_hard(PER_KIND) if seed is None else generate_hard(PER_KIND, seed=seed)
    misses = write_misses(out, samples)
    for m in misses:
        print(", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items()))
    print(f"{len(misses)} missed")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else None))

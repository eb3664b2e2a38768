"""Chooses the cascade's pass order (device/hw/cascade.py ORDER): greedy by frames read per CPU ms.

On training draws of the hard set (seeds other than the bench's, so the bench measures frames the order
was not fitted to), every known pass is run alone on every frame, timed in thread CPU. Then, repeatedly,
the pass that reads the most still-unread frames per millisecond it costs on them is appended, until no
pass reads another frame. `python -m bench.train_cascade` prints the order and what each step adds.
"""

from __future__ import annotations

import sys
import time

from device.hw.cascade import PASSES, CascadeDecoder
from device.hw.hard_frames import HardSample, generate_hard

TRAIN_SEEDS = (1001, 1002, 1003, 1004)
PER_KIND = 60


def table(samples: list[HardSample]) -> tuple[list[str], list[list[bool]], list[list[float]]]:
    names = list(PASSES)  # every known pass, not only those in ORDER
    singles = {n: CascadeDecoder(passes=[n], budget_ms=None) for n in names}
    reads: list[list[bool]] = []
    costs: list[list[float]] = []
    for s in samples:
        row_r, row_c = [], []
        for n in names:
            t0 = time.thread_time()
            row_r.append(singles[n].decode_bytes(s.frame) == [s.payload])
            row_c.append((time.thread_time() - t0) * 1000)
        reads.append(row_r)
        costs.append(row_c)
    return names, reads, costs


def _score(j: int, unread: set[int], reads: list[list[bool]], costs: list[list[float]]) -> tuple[float, int]:
    got = sum(reads[i][j] for i in unread)
    spent = sum(costs[i][j] for i in unread)
    return got / max(spent, 1e-6), got


def greedy(
    names: list[str], reads: list[list[bool]], costs: list[list[float]]
) -> list[tuple[str, int, float]]:
    """(pass, frames it adds, the CPU ms it adds a frame on average), best yield per ms first."""
    unread = set(range(len(reads)))
    order: list[tuple[str, int, float]] = []
    left = set(range(len(names)))
    while unread and left:
        best = max(left, key=lambda j: _score(j, unread, reads, costs))
        got = _score(best, unread, reads, costs)[1]
        if got == 0:
            break
        order.append((names[best], got, sum(costs[i][best] for i in unread) / len(reads)))
        unread -= {i for i in unread if reads[i][best]}
        left.discard(best)
    return order


def main() -> int:
    samples = [s for seed in TRAIN_SEEDS for s in generate_hard(PER_KIND, seed=seed)]
    names, reads, costs = table(samples)
    total = 0
    for name, got, ms in greedy(names, reads, costs):
        total += got
        print(f"{name:18s} +{got:3d}  {total}/{len(samples)}  adds {ms:.3f} ms a frame on average")
    return 0


if __name__ == "__main__":
    sys.exit(main())

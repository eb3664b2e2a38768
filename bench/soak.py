"""`make soak`: the long runs that are not part of `make test`; each writes bench/results/soak_<name>.json.

python -m bench.soak                  every soak
python -m bench.soak power_cut        1,000 SIGKILLs against a serving simulated terminal
python -m bench.soak offline_month    30 days offline at 2,000 meals a day, then the upload
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
SOAKS = ("power_cut", "offline_month")


def main(argv: list[str]) -> int:
    chosen = argv or list(SOAKS)
    unknown = set(chosen) - set(SOAKS)
    if unknown:
        print(f"unknown soak {sorted(unknown)}; choose from {list(SOAKS)}", file=sys.stderr)
        return 2
    RESULTS.mkdir(exist_ok=True)
    failed = []
    for name in chosen:
        print(f"== soak {name}", flush=True)
        if not importlib.import_module(f"bench.soak_{name}").main(RESULTS):
            failed.append(name)
    if failed:
        print(f"FAILED: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

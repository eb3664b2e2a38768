"""`make bench`: run every bench/bench_*.py module's main(); each writes bench/results/<name>.json."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def main() -> int:
    RESULTS.mkdir(exist_ok=True)
    only = set(sys.argv[1:])
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_")
    )
    for name in names:
        if only and name.removeprefix("bench_") not in only:
            continue
        print(f"== {name}", flush=True)
        importlib.import_module(f"bench.{name}").main(RESULTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

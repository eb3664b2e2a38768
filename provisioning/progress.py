"""Numbered step output for long operations: the technician always sees what is happening."""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    def __init__(self, total: int, out: TextIO | None = None) -> None:
        self._total = total
        self._n = 0
        self._out = out

    def step(self, what: str) -> None:
        self._n += 1
        total = f"/{self._total}" if self._total else ""
        print(f"[{self._n}{total}] {what}…", file=self._out or sys.stdout, flush=True)

    def note(self, what: str) -> None:
        print(f"      {what}", file=self._out or sys.stdout, flush=True)

"""Runs system commands (systemctl, timedatectl); tests inject a recorder instead."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Completed:
    returncode: int
    output: str


class Runner(Protocol):
    def __call__(self, argv: Sequence[str]) -> Completed: ...


def run(argv: Sequence[str]) -> Completed:
    try:
        p = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    except FileNotFoundError:
        return Completed(127, f"{argv[0]}: command not found")
    except subprocess.TimeoutExpired:
        return Completed(124, f"{argv[0]}: timed out after 60 s")
    return Completed(p.returncode, (p.stdout + p.stderr).strip())

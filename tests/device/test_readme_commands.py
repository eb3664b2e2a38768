"""The README's commands run as written after `make install` (`.venv/bin/python -m ...` from the root)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
OURS = ("device", "provisioning", "shared_crypto")


def _commands() -> list[list[str]]:
    """Every `.venv/bin/python -m <ours> <sub>` in the README, `a\\|b` alternatives expanded."""
    out: list[list[str]] = []
    for m in re.finditer(r"\.venv/bin/python -m (\w+) ([\w\\|-]+)", README):
        if m.group(1) in OURS:
            out += [[m.group(1), sub] for sub in m.group(2).split("\\|")]
    return out


def test_every_terminal_command_in_the_readme_exists() -> None:
    commands = _commands()
    assert {c[0] for c in commands} == set(OURS)
    assert ["provisioning", "register-cards"] in commands and ["shared_crypto", "keygen"] in commands
    for module, sub in commands:
        res = subprocess.run(
            [sys.executable, "-m", module, sub, "--help"], cwd=ROOT, capture_output=True, text=True
        )
        assert res.returncode == 0, (module, sub, res.stderr[-300:])


def test_the_readmes_simulated_terminal_runs_as_written(tmp_path: Path) -> None:
    """The README's own lines, with /tmp/sim moved to a fresh folder and the venv's python this one."""
    row = next(line for line in README.splitlines() if "setup-sim /tmp/sim" in line)
    setup, run = (c.replace("/tmp/sim", str(tmp_path / "sim")) for c in re.findall(r"`([^`]+)`", row)[:2])
    py = shlex.quote(sys.executable)
    subprocess.run(
        setup.replace(".venv/bin/python", py), shell=True, cwd=ROOT, check=True, capture_output=True
    )
    res = subprocess.run(
        run.replace(".venv/bin/python", py), shell=True, cwd=ROOT, check=True, capture_output=True, text=True
    )
    assert res.stdout.count("[verdict] SERVE") == 6  # setup-sim makes six QR images by default

"""`python -m provisioning selftest --simulate`: the whole table against the twins, on any machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from device.hw.config import HardwareConfig
from provisioning import simulated
from provisioning.cli import Deps, main
from provisioning.selftest import Verdict, run_selftest

from .recording_runner import RecordingRunner

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ["LED", "buzzer", "camera", "NFC reader", "NFC card", "RTC", "NTP", "disk space", "disk write"]


def test_simulated_selftest_shows_every_check_and_touches_nothing_real(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = RecordingRunner({})
    missing_config = tmp_path / "no" / "terminal.toml"
    assert main(["selftest", "--simulate", "--config", str(missing_config)], Deps(runner=runner)) == 0
    out = capsys.readouterr().out
    assert out.startswith("SIMULATED hardware")
    table = out[out.index("check  ") :]
    assert [line.split()[0] for line in table.splitlines()[2:11]] == [c.split()[0] for c in CHECKS]
    assert table.count(" PASS ") == len(CHECKS) and "ALL PASSED" in table
    assert "UID 04a1b2c3d4e5f6" in out and "test QR read after 3 frame(s)" in out
    assert "Is the LED blinking fast? [y/n] y" in out  # answered from the simulated pin's switching
    assert runner.calls == []  # no systemctl, no timedatectl on this machine
    assert not missing_config.parent.exists()


def test_the_simulated_camera_check_decodes_with_the_configured_decoder() -> None:
    with simulated.simulated_rig(HardwareConfig(decoder="zbar"), say=lambda _s: None) as rig:
        results = {r.name: r for r in run_selftest(rig)}
    assert results["camera"].verdict is Verdict.PASS


def test_a_silent_simulated_led_is_answered_no(monkeypatch: pytest.MonkeyPatch) -> None:
    """The answers come from the pins, not a fixed yes: an indicator that never switches fails."""
    monkeypatch.setattr("device.hw.indicator.LedBuzzerIndicator.show", lambda self, state: None)
    said: list[str] = []
    with simulated.simulated_rig(HardwareConfig(), say=said.append) as rig:
        results = {r.name: r.verdict for r in run_selftest(rig)}
    assert results["LED"] is Verdict.FAIL and results["buzzer"] is Verdict.FAIL
    assert any("[y/n] n" in s for s in said)


def test_module_entry_point(tmp_path: Path) -> None:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "provisioning",
            "selftest",
            "--simulate",
            "--config",
            str(tmp_path / "x.toml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "ALL PASSED" in res.stdout

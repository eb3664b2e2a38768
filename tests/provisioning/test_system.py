import shlex
import sys
import zoneinfo
from datetime import UTC, datetime
from pathlib import Path

import pytest

from device.__main__ import main as device_main
from provisioning import system
from provisioning.errors import Problem, ProvisioningError
from provisioning.runner import Completed, run

from .recording_runner import RecordingRunner

HW_UNIT = Path(__file__).parents[2] / "hardware_docs" / system.UNIT_NAME


def test_unit_installed_under_root_enabled_and_started(tmp_path: Path) -> None:
    runner = RecordingRunner()
    unit = system.install_unit(
        tmp_path,
        runner,
        python="/opt/sm/.venv/bin/python",
        config=Path("/etc/sm/t.toml"),
        data_dir=Path("/data/sm"),
    )
    assert unit == tmp_path / "etc/systemd/system/school-meals-terminal.service"
    text = unit.read_text()
    assert "ExecStart=/opt/sm/.venv/bin/python -m device run --config /etc/sm/t.toml" in text
    assert "ReadWritePaths=/data/sm" in text and "Restart=always" in text
    # the service watchdog: device/systemd.py sends READY=1 and WATCHDOG=1 from the main process
    assert {"Type=notify", "NotifyAccess=main", "WatchdogSec=30"} <= set(text.splitlines())
    assert "RuntimeWatchdogSec=15s" in (tmp_path / "etc/systemd/system.conf.d/watchdog.conf").read_text()
    assert runner.calls == [
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", system.UNIT_NAME],
        ["systemctl", "restart", system.UNIT_NAME],
    ]


def test_failed_systemctl_names_the_fix(tmp_path: Path) -> None:
    runner = RecordingRunner({("systemctl", "enable"): Completed(1, "Access denied")})
    with pytest.raises(ProvisioningError) as e:
        system.install_unit(tmp_path, runner, python="p", config=Path("c"), data_dir=Path("d"))
    assert (
        e.value.problem is Problem.SYSTEMD and "Access denied" in e.value.what and "journalctl" in e.value.fix
    )


def test_service_user_made_once(tmp_path: Path) -> None:
    missing = RecordingRunner({("id",): Completed(1, "no such user")})
    system.ensure_service_user(missing, tmp_path)
    assert missing.calls[1][0] == "useradd" and missing.calls[2][:2] == ["chown", "-R"]
    present = RecordingRunner()
    system.ensure_service_user(present, tmp_path)
    assert [c[0] for c in present.calls] == ["id", "chown"]


def test_kazakhstan_is_utc_plus_5() -> None:
    zone = system.kazakhstan_zone()
    assert zone in (system.KZ_ZONE, system.KZ_FALLBACK)
    offset = datetime(2025, 1, 15, tzinfo=UTC).astimezone(zoneinfo.ZoneInfo(zone)).utcoffset()
    assert offset == system.KZ_OFFSET


def test_old_tzdata_falls_back_to_fixed_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system, "KZ_ZONE", "Asia/Dhaka")  # a UTC+6 zone, like Almaty before 2024-03-01
    assert system.kazakhstan_zone() == "Etc/GMT-5"
    monkeypatch.setattr(system, "KZ_ZONE", "Nowhere/Nothing")
    assert system.kazakhstan_zone() == "Etc/GMT-5"


def test_timezone_set_through_timedatectl() -> None:
    runner = RecordingRunner()
    assert system.set_timezone(runner) == system.kazakhstan_zone()
    assert runner.calls == [["timedatectl", "set-timezone", system.kazakhstan_zone()]]
    failing = RecordingRunner({("timedatectl",): Completed(1, "Invalid time zone")})
    with pytest.raises(ProvisioningError) as e:
        system.set_timezone(failing, "Asia/Almaty")
    assert e.value.problem is Problem.TIMEZONE


def test_documented_unit_matches_the_installed_one() -> None:
    documented = system.unit_text(
        python="/opt/school-meals/.venv/bin/python",
        config=Path("/etc/school-meals/terminal.toml"),
        data_dir=Path("/var/lib/school-meals"),
    )
    assert HW_UNIT.read_text() == documented


def test_real_runner_reports_missing_commands() -> None:
    assert run(["definitely-not-a-command-xyz"]).returncode == 127
    assert run(["true"]).returncode == 0


def test_unit_starts_the_terminal_core_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = system.unit_text(python=sys.executable, config=tmp_path / "missing.toml", data_dir=tmp_path)
    (line,) = [x for x in text.splitlines() if x.startswith("ExecStart=")]
    argv = shlex.split(line.removeprefix("ExecStart="))
    assert argv[:3] == [sys.executable, "-m", "device"]
    # the core's own CLI takes these arguments: it gets as far as reading the (missing) config
    assert device_main(argv[3:]) == 2
    assert "missing.toml" in capsys.readouterr().err


def test_service_is_paused_for_hardware_tools_and_restarted_even_after_a_failure() -> None:
    runner = RecordingRunner()  # is-active answers 0: running
    said: list[str] = []
    with pytest.raises(RuntimeError), system.service_paused(runner, said.append):
        raise RuntimeError("card pulled away")
    assert runner.calls == [
        ["systemctl", "is-active", "--quiet", system.UNIT_NAME],
        ["systemctl", "stop", system.UNIT_NAME],
        ["systemctl", "start", system.UNIT_NAME],
    ]
    assert "started again afterwards" in said[0]


def test_a_stopped_service_is_left_stopped() -> None:
    runner = RecordingRunner({("systemctl", "is-active"): Completed(3, "")})
    with system.service_paused(runner, print):
        pass
    assert runner.calls == [["systemctl", "is-active", "--quiet", system.UNIT_NAME]]

"""OS set-up steps: service user, systemd unit, watchdog and time zone, against a root directory and a
command runner (tests use a temporary root and a recorder)."""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .errors import Problem, ProvisioningError
from .runner import Runner

UNIT_NAME = "school-meals-terminal.service"
SERVICE_USER = "sm-terminal"
KZ_OFFSET = timedelta(hours=5)  # one zone nationwide since 2024-03-01
KZ_ZONE = "Asia/Almaty"
KZ_FALLBACK = "Etc/GMT-5"  # POSIX sign: GMT-5 is UTC+5; for tzdata older than 2024a

UNIT_TEMPLATE = """\
[Unit]
Description=School meals canteen terminal
After=network-online.target time-sync.target
Wants=network-online.target
# Never give up restarting: a canteen terminal has no one to press a button.
StartLimitIntervalSec=0

[Service]
# Ready once serving runs; WATCHDOG=1 every 15 s while the camera and card loops move, so a hung
# terminal is killed (SIGABRT: stack traces in the journal) and restarted.
Type=notify
NotifyAccess=main
WatchdogSec=30
User={user}
SupplementaryGroups=dialout gpio video i2c spi
ExecStart={python} -m device run --config {config}
Restart=always
RestartSec=2
# Read-only root: the terminal writes only to its data partition.
ProtectSystem=strict
ReadWritePaths={data_dir}
PrivateTmp=yes
NoNewPrivileges=yes
ProtectHome=yes

[Install]
WantedBy=multi-user.target
"""

# The board's hardware watchdog, fed by systemd itself: reboots the Pi if the kernel or PID 1 hangs.
WATCHDOG_DROPIN = """\
[Manager]
RuntimeWatchdogSec=15s
RebootWatchdogSec=2min
"""


def unit_text(*, python: str, config: Path, data_dir: Path, user: str = SERVICE_USER) -> str:
    return UNIT_TEMPLATE.format(python=python, config=config, data_dir=data_dir, user=user)


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _must(runner: Runner, argv: list[str], problem: Problem, fix: str) -> None:
    done = runner(argv)
    if done.returncode != 0:
        raise ProvisioningError(problem, f"`{' '.join(argv)}` failed: {done.output or done.returncode}", fix)


def ensure_service_user(runner: Runner, data_dir: Path) -> None:
    """The unprivileged user the service runs as, owning the data directory."""
    if runner(["id", "-u", SERVICE_USER]).returncode != 0:
        _must(
            runner,
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            Problem.SYSTEMD,
            "run the tool as root (sudo python -m provisioning …)",
        )
    _must(
        runner,
        ["chown", "-R", f"{SERVICE_USER}:{SERVICE_USER}", str(data_dir)],
        Problem.SYSTEMD,
        "run as root",
    )


def install_unit(root: Path, runner: Runner, *, python: str, config: Path, data_dir: Path) -> Path:
    """Write the unit and the watchdog drop-in under `root`, then enable and (re)start the service."""
    unit = root / "etc/systemd/system" / UNIT_NAME
    _write(unit, unit_text(python=python, config=config, data_dir=data_dir))
    _write(root / "etc/systemd/system.conf.d/watchdog.conf", WATCHDOG_DROPIN)
    fix = "check `journalctl -u school-meals-terminal` and `systemctl status school-meals-terminal`"
    _must(runner, ["systemctl", "daemon-reload"], Problem.SYSTEMD, fix)
    _must(runner, ["systemctl", "enable", UNIT_NAME], Problem.SYSTEMD, fix)
    _must(runner, ["systemctl", "restart", UNIT_NAME], Problem.SYSTEMD, fix)
    return unit


@contextmanager
def service_paused(runner: Runner, say: Callable[[str], None]) -> Iterator[None]:
    """Stop the terminal service for the block if it runs (it holds the NFC reader's port, the camera and
    the GPIO lines the technician's tools need) and start it again afterwards, whatever happened."""
    running = runner(["systemctl", "is-active", "--quiet", UNIT_NAME]).returncode == 0
    if running:
        say("stopping the terminal service for this; it is started again afterwards")
        _must(
            runner,
            ["systemctl", "stop", UNIT_NAME],
            Problem.SYSTEMD,
            "run as root (sudo python -m provisioning …)",
        )
    try:
        yield
    finally:
        if running:
            done = runner(["systemctl", "start", UNIT_NAME])
            if done.returncode != 0:
                say(
                    f"could not restart the terminal service ({done.output}): `sudo systemctl start {UNIT_NAME}`"
                )


def kazakhstan_zone() -> str:
    """Asia/Almaty if this machine's tzdata already has it at UTC+5 (tzdata 2024a+), else Etc/GMT-5."""
    try:
        zone = zoneinfo.ZoneInfo(KZ_ZONE)
    except zoneinfo.ZoneInfoNotFoundError:
        return KZ_FALLBACK
    if datetime(2024, 6, 1, tzinfo=UTC).astimezone(zone).utcoffset() == KZ_OFFSET:
        return KZ_ZONE
    return KZ_FALLBACK


def set_timezone(runner: Runner, zone: str | None = None) -> str:
    zone = zone or kazakhstan_zone()
    _must(
        runner,
        ["timedatectl", "set-timezone", zone],
        Problem.TIMEZONE,
        "run as root; if the zone is unknown, apt-get install --only-upgrade tzdata",
    )
    return zone

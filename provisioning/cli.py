"""`python -m provisioning`: the technician's commands. Every failure prints what went wrong and the fix."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from device.config import DeviceConfig
from device.hw.camera import PiCamera
from device.hw.config import HardwareConfig
from device.hw.decoders import DecoderName, make_decoder
from device.hw.indicator import LedBuzzerIndicator
from device.hw.nfc import Pn532Reader
from device.hw.pn532_bus import Bus, pn532_factory

from . import system
from .cards import AdminClient, register_cards, write_credential
from .config import DEFAULT_CONFIG, DEFAULT_DATA_DIR, read_config
from .enrol import EnrolClient, enrol_terminal
from .errors import Problem, ProvisioningError
from .progress import Progress
from .roster import Pupil, Roster, fetch_roster, pick_pupil, pinned_trust
from .runner import Runner, run
from .selftest import Rig, Verdict, run_selftest, table


@dataclass
class Deps:
    """What the commands reach outside the process; tests replace these."""

    http: Callable[[str], httpx.Client] = lambda base: httpx.Client(base_url=base, timeout=20.0)
    runner: Runner = run
    rig: Callable[[HardwareConfig, Path, Path], Rig] | None = None  # (wiring, data dir, install root)
    reader: Callable[[HardwareConfig], Pn532Reader] | None = None
    ask: Callable[[str], str] = input
    admin_token: Callable[[], str] = field(
        default=lambda: os.environ.get("SM_ADMIN_TOKEN") or getpass.getpass("admin token: ")
    )


def _reader(hw: HardwareConfig) -> Pn532Reader:
    return Pn532Reader(pn532_factory(hw.pn532()))


def _rig(hw: HardwareConfig, data_dir: Path, root: Path, deps: Deps) -> Rig:
    return Rig(
        indicator=lambda: LedBuzzerIndicator(hw.led_gpio, hw.buzzer_gpio),
        camera=lambda: PiCamera((hw.camera_width, hw.camera_height)),
        decoder=lambda: make_decoder(hw.decoder),
        nfc=lambda: (deps.reader or _reader)(hw),
        runner=deps.runner,
        data_dir=data_dir,
        root=root,
    )


def _wiring_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--nfc-bus", choices=[b.value for b in Bus], default=Bus.UART.value)
    p.add_argument("--nfc-port", default="/dev/serial0", help="Pi 5: /dev/ttyAMA0; USB adapter: /dev/ttyUSB0")
    p.add_argument(
        "--no-nfc-reset",
        action="store_true",
        help="UART only: the PN532's RSTPDN is not wired to GPIO6 (e.g. a USB-serial adapter)",
    )
    p.add_argument("--decoder", choices=[d.value for d in DecoderName], default=DecoderName.ZXING.value)


def _wiring(a: argparse.Namespace) -> HardwareConfig:
    return HardwareConfig(
        decoder=a.decoder, nfc_bus=a.nfc_bus, nfc_uart_port=a.nfc_port, nfc_uart_reset=not a.no_nfc_reset
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m provisioning", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("enrol", help="make the key, enrol, pin the root, fetch lists, install the service")
    e.add_argument("--server", required=True, help="back end base URL, e.g. https://sw.example.kz")
    e.add_argument("--code", required=True, help="one-time enrolment code from the admin")
    e.add_argument(
        "--root-fingerprint", required=True, help="root key fingerprint printed on the enrolment sheet"
    )
    e.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    e.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    e.add_argument("--root", type=Path, default=Path("/"), help="install root for the systemd unit")
    _wiring_args(e)
    e.add_argument(
        "--no-service", action="store_true", help="skip user, systemd unit and time zone (bench set-up)"
    )
    for name, help_ in (
        ("selftest", "test LED, buzzer, camera, NFC, clock, storage"),
        ("write-card", "write a signed credential onto an NTAG card"),
        ("register-cards", "register existing MIFARE cards: tap, name the pupil, repeat"),
    ):
        s = sub.add_parser(name, help=help_)
        s.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
        s.add_argument("--root", type=Path, default=Path("/"))
        if name == "selftest":  # before enrolment (codes last 10 minutes: test the wiring first)
            s.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
            s.add_argument(
                "--simulate", action="store_true", help="run every check against simulated hardware"
            )
            _wiring_args(s)
        if name == "write-card":
            s.add_argument("--voucher", type=int, help="the pupil's voucher id (else: search by class)")
        if name == "register-cards":
            s.add_argument(
                "--wait", type=float, default=60.0, help="seconds without a tap that end the batch (60)"
            )
    return p


def _enrol(a: argparse.Namespace, deps: Deps) -> int:
    progress = Progress(5 if a.no_service else 8)
    hardware = _wiring(a)
    zone = system.kazakhstan_zone()
    with deps.http(a.server) as http:
        cfg = enrol_terminal(
            EnrolClient(http),
            server_url=a.server,
            code=a.code,
            root_fingerprint=a.root_fingerprint,
            data_dir=a.data_dir,
            config_path=a.config,
            timezone=zone,
            hardware=hardware,
            progress=progress,
        )
    if not a.no_service:
        progress.step(f"service user {system.SERVICE_USER}")
        system.ensure_service_user(deps.runner, a.data_dir)
        progress.step("installing and starting the systemd unit")
        system.install_unit(a.root, deps.runner, python=sys.executable, config=a.config, data_dir=a.data_dir)
        progress.step(f"time zone {zone}")
        system.set_timezone(deps.runner, zone)
    print(
        f"enrolled: terminal {cfg.terminal_id} at school {cfg.school_id}, canteen {cfg.canteen_id}. "
        "Next: python -m provisioning selftest"
    )
    return 0


def _pupil_by_voucher(roster: Roster, voucher_id: int) -> Pupil:
    found = roster.find(str(voucher_id))
    if not found:
        raise ProvisioningError(
            Problem.CARD,
            f"voucher {voucher_id} is not in this school's allowlist",
            "check the voucher id in the admin app, or leave --voucher out to search by class",
        )
    return found[0]


def main(argv: Sequence[str] | None = None, deps: Deps | None = None) -> int:
    deps = deps or Deps()
    a = _parser().parse_args(argv)
    try:
        if a.command == "enrol":
            return _enrol(a, deps)
        if a.command == "selftest" and a.simulate:
            return _simulated_selftest(_wiring(a))
        if a.command == "selftest" and not a.config.exists():
            print(f"no config at {a.config} yet: testing the wiring given on the command line")
            return _selftest(_wiring(a), a.data_dir, a.root, deps)
        cfg = read_config(a.config)
        with system.service_paused(deps.runner, print):  # it holds the reader, camera and GPIO lines
            return _hardware_command(a, cfg, deps)
    except ProvisioningError as e:
        print(f"FAILED [{e.problem.value}]: {e.what}\nFix: {e.fix}", file=sys.stderr)
        return 2


def _selftest(hw: HardwareConfig, data_dir: Path, root: Path, deps: Deps) -> int:
    rig = (deps.rig or (lambda h, d, r: _rig(h, d, r, deps)))(hw, data_dir, root)
    results = run_selftest(rig)
    print(table(results))
    return 1 if any(r.verdict is Verdict.FAIL for r in results) else 0


def _simulated_selftest(hw: HardwareConfig) -> int:
    from .simulated import simulated_rig

    print("SIMULATED hardware: every check below runs against software twins, not this machine's devices")
    with simulated_rig(hw) as rig:
        results = run_selftest(rig)
    print(table(results))
    return 1 if any(r.verdict is Verdict.FAIL for r in results) else 0


def _hardware_command(a: argparse.Namespace, cfg: DeviceConfig, deps: Deps) -> int:
    hw = cfg.hardware or HardwareConfig()  # no [hardware] table: the documented default wiring
    if a.command == "selftest":
        return _selftest(hw, cfg.data_dir, a.root, deps)
    reader = (deps.reader or _reader)(hw)
    trust = pinned_trust(cfg)
    with deps.http(cfg.server_url) as http:
        roster = fetch_roster(EnrolClient(http), cfg, trust)
        admin = AdminClient(http, deps.admin_token())
        if a.command == "write-card":
            pupil = _pupil_by_voucher(roster, a.voucher) if a.voucher else pick_pupil(roster, deps.ask, print)
            if pupil is None:
                return 0
            print(f"tap the NTAG card for {pupil.label()} and keep it on the reader")
            w = write_credential(reader, admin, pupil, keys=trust, school_id=cfg.school_id)
            print(
                f"card {w.uid.hex()} written ({w.credential_bytes}-byte credential) and read back: remove it"
            )
            return 0

        def pick(uid: bytes) -> Pupil | None:
            print(f"card {uid.hex()}: whose is it?")
            return pick_pupil(roster, deps.ask, print)

        done = register_cards(reader, admin, pick, Progress(0), timeout_s=a.wait)
        print(f"{len(done)} card(s) registered")
        return 0

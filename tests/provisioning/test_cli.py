from pathlib import Path

import httpx
import pytest
from adafruit_pn532.uart import PN532_UART
from gpiozero.pins.mock import MockFactory

from device.hw import ndef
from device.hw.config import HardwareConfig
from device.hw.fake_pn532 import FakeMifareClassic, FakeNtag, FakePn532Serial
from device.hw.nfc import Pn532Reader
from provisioning.cli import Deps, main
from provisioning.config import read_config
from provisioning.runner import Completed
from provisioning.selftest import Rig
from shared_crypto import TrustStore, verify_card_credential, verify_trust_list

from .fake_backend import ADMIN_TOKEN, TERMINAL, FakeBackend
from .recording_runner import RecordingRunner
from .test_selftest import make_rig


def enrol_args(tmp_path: Path, backend: FakeBackend, *extra: str) -> list[str]:
    return [
        "enrol",
        "--server",
        "https://sw.test",
        "--code",
        "ABCD-1234",
        "--root-fingerprint",
        backend.root.kid.hex(),
        "--config",
        str(tmp_path / "etc/terminal.toml"),
        "--data-dir",
        str(tmp_path / "data"),
        "--root",
        str(tmp_path / "root"),
        *extra,
    ]


def deps_for(backend: FakeBackend, runner: RecordingRunner, port: FakePn532Serial | None = None) -> Deps:
    return Deps(
        http=lambda base: httpx.Client(base_url=base, transport=backend.transport()),
        runner=runner,
        reader=lambda cfg: Pn532Reader(lambda: PN532_UART(port), poll_timeout_s=0.02, io_timeout_s=0.02),
        admin_token=lambda: ADMIN_TOKEN,
    )


def test_enrol_command_does_every_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    backend, runner = FakeBackend(), RecordingRunner({("id",): Completed(1, "")})
    assert main(enrol_args(tmp_path, backend, "--nfc-bus", "i2c"), deps_for(backend, runner)) == 0
    out = capsys.readouterr().out
    assert "[8/8] time zone" in out and f"terminal {TERMINAL}" in out
    cfg = read_config(tmp_path / "etc/terminal.toml")
    assert (
        cfg.hardware is not None
        and cfg.hardware.nfc_bus == "i2c"
        and cfg.timezone in ("Asia/Almaty", "Etc/GMT-5")
    )
    assert (tmp_path / "root/etc/systemd/system/school-meals-terminal.service").exists()
    commands = [c[0] for c in runner.calls]
    assert commands == ["id", "useradd", "chown", "systemctl", "systemctl", "systemctl", "timedatectl"]


def test_failure_prints_reason_and_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    backend = FakeBackend()
    args = enrol_args(tmp_path, backend)
    args[args.index("--root-fingerprint") + 1] = "ff" * 8
    assert main(args, deps_for(backend, RecordingRunner())) == 2
    err = capsys.readouterr().err
    assert "FAILED [ROOT_MISMATCH]" in err and "Fix:" in err


def test_write_card_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    backend, runner = FakeBackend(), RecordingRunner()
    assert main(enrol_args(tmp_path, backend, "--no-service"), deps_for(backend, runner)) == 0
    assert runner.calls == []
    port = FakePn532Serial()
    port.card = FakeNtag(bytes.fromhex("04010203040506"))
    rc = main(
        ["write-card", "--voucher", "502", "--config", str(tmp_path / "etc/terminal.toml")],
        deps_for(backend, runner, port),
    )
    assert rc == 0, capsys.readouterr().err
    cred = verify_card_credential(
        ndef.card_credential(port.card.user_bytes()),
        TrustStore(verify_trust_list(backend.trust_list, backend.root.public, now=None, leeway=0).keys),
        uid=port.card.uid,
        now=backend.now,
        leeway=0,
    )
    assert cred.pseudonym == b"\x22" * 16  # voucher 502's pupil
    out = capsys.readouterr().out
    assert "tap the NTAG card for А. Б., 7А  (voucher 502)" in out and "read back" in out


def test_register_cards_command_picks_pupils_from_the_allowlist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backend, runner = FakeBackend(), RecordingRunner()
    assert main(enrol_args(tmp_path, backend, "--no-service"), deps_for(backend, runner)) == 0
    port = FakePn532Serial()
    port.card = FakeMifareClassic(b"\x0c\x0d\x0e\x0f")
    answers = iter(["5Б", "2"])  # search the class, pick the second

    def ask(question: str) -> str:
        return next(answers)

    deps = deps_for(backend, runner, port)
    deps.ask = ask
    args = ["register-cards", "--wait", "0.3", "--config", str(tmp_path / "etc/terminal.toml")]
    assert main(args, deps) == 0  # the card stays on: no new tap within --wait ends the batch
    assert backend.registered == [(b"\x33" * 16, b"\x0c\x0d\x0e\x0f")]
    out = capsys.readouterr().out
    assert "card 0c0d0e0f → Е. Ж., 5Б  (voucher 503)" in out and "1 card(s) registered" in out


def test_write_card_for_a_voucher_not_in_the_allowlist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backend, runner = FakeBackend(), RecordingRunner()
    assert main(enrol_args(tmp_path, backend, "--no-service"), deps_for(backend, runner)) == 0
    rc = main(
        ["write-card", "--voucher", "9", "--config", str(tmp_path / "etc/terminal.toml")],
        deps_for(backend, runner, FakePn532Serial()),
    )
    assert rc == 2 and "voucher 9 is not in this school's allowlist" in capsys.readouterr().err


def test_card_commands_without_enrolment_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["register-cards", "--config", str(tmp_path / "none.toml")], Deps()) == 2
    assert "enrol the terminal first" in capsys.readouterr().err


def test_selftest_before_enrolment_tests_the_wiring_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pins = MockFactory()
    seen: list[tuple[HardwareConfig, Path]] = []

    def rig(hw: HardwareConfig, data_dir: Path, root: Path) -> Rig:
        seen.append((hw, data_dir))
        return make_rig(tmp_path, pins)[0]

    runner = RecordingRunner()
    deps = Deps(rig=rig, runner=runner)
    args = ["selftest", "--config", str(tmp_path / "none.toml"), "--data-dir", str(tmp_path / "d")]
    try:
        assert main([*args, "--nfc-port", "/dev/ttyAMA0", "--no-nfc-reset"], deps) == 0
    finally:
        pins.reset()
    ((hw, data_dir),) = seen
    assert (hw.nfc_uart_port, hw.nfc_uart_reset, data_dir) == ("/dev/ttyAMA0", False, tmp_path / "d")
    out = capsys.readouterr().out
    assert "no config at" in out and "ALL PASSED" in out
    assert runner.calls == []  # no service to pause before enrolment

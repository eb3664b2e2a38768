"""Config parsing, the serving loop over the simulated twins, and `python -m device`."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

import device.hw.config as hw_config
from device.__main__ import main
from device.config import ConfigError, Rules, load_config, parse_config
from device.hw import preflight
from device.hw.decoders import make_decoder
from device.hw.testimages import Distortion, render
from device.interfaces import CardRead, IndicatorState, Verdict
from device.journal import Journal
from device.serve import serve
from device.sim import scenario
from device.sim.camera import FolderCamera
from device.sim.card_reader import TypedCardReader, parse_card_line
from device.sim.indicator import PrintingIndicator

from .conftest import Rig

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = """
[terminal]
server_url = "https://meals.example.kz"
terminal_id = 7
school_id = 1001
canteen_id = 1
data_dir = "/var/lib/school-meals"
key_file = "/var/lib/school-meals/device_key.pem"
root_key_file = "/var/lib/school-meals/root_key.pub"
timezone = "Asia/Almaty"
"""


def test_provisionings_config_is_read_with_default_rules() -> None:
    cfg = parse_config(MINIMAL)
    assert cfg.terminal_id == 7 and cfg.data_dir == Path("/var/lib/school-meals")
    assert cfg.rules == Rules() and cfg.hardware is None
    assert cfg.journal_path == Path("/var/lib/school-meals/journal.sqlite3")


def test_rules_and_hardware_tables() -> None:
    cfg = parse_config(
        MINIMAL
        + '[rules]\ntoken_leeway_s = 10\nstale_grace_hours = 48\nrtc = true\n[hardware]\ndecoder = "zbar"\n'
    )
    assert cfg.rules.token_leeway_s == 10 and cfg.rules.stale_grace_s == 48 * 3600 and cfg.rules.rtc
    assert cfg.hardware is not None and cfg.hardware.decoder == "zbar"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not toml [", "not TOML"),
        ("[rules]\n", "no [terminal]"),
        (MINIMAL.replace("terminal_id = 7", 'terminal_id = "7"'), "terminal_id must be an integer"),
        (MINIMAL.replace("canteen_id = 1\n", ""), "lacks ['canteen_id']"),
        (MINIMAL + "colour = 1\n", "unknown [terminal] keys"),
        (MINIMAL + "[rules]\nleway = 3\n", "unknown [rules] keys"),
        (MINIMAL + "[rules]\ntoken_leeway_s = -1\n", "token_leeway_s must be a number"),
        (MINIMAL + "[rules]\nrtc = 1\n", "rtc must be true or false"),
        (MINIMAL + "[rules]\nupload_batch_size = 20000\n", "upload_batch_size"),
        (MINIMAL + '[hardware]\ndecoder = "nope"\n', "[hardware]"),
        (MINIMAL + "[extra]\n", "unknown tables"),
    ],
)
def test_bad_configs_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(
        ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
    ):
        parse_config(text)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


def test_card_lines() -> None:
    assert parse_card_line("04a1b2c3") == CardRead(bytes.fromhex("04a1b2c3"), None)
    assert parse_card_line("04a1b2c3d4e5f6:a0") == CardRead(bytes.fromhex("04a1b2c3d4e5f6"), b"\xa0")
    assert parse_card_line("04a1b2") is None  # 3 bytes is no UID
    assert parse_card_line("zz") is None


def test_serve_runs_the_simulated_camera_and_reader_to_the_end(rig: Rig, tmp_path: Path) -> None:
    qr = tmp_path / "qr"
    qr.mkdir()
    rng = np.random.default_rng(1)
    for i, v in enumerate((4, 6)):
        Image.fromarray(render(rig.qr(v), Distortion.CLEAN, rng)).save(qr / f"{i}.png")
    reader = TypedCardReader(iter(["", "nonsense", "04000000000008\n"]))
    got: list[Verdict] = []
    serve(
        rig.terminal,
        camera=FolderCamera(qr),
        decoder=make_decoder("zxing"),
        reader=reader,
        stop=threading.Event(),
        report=got.append,
        reader_done=lambda: reader.exhausted,
    )
    assert sorted(v.voucher_id or 0 for v in got if v.served) == [4, 6, 8]
    assert reader.errors == ["nonsense"]


def test_folder_camera_needs_images(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        FolderCamera(tmp_path)


def test_simulated_run_from_typed_lines(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg_file = rig.data_dir / "terminal.toml"
    cfg_file.write_text(scenario.config_toml(rig.terminal.cfg))
    rig.terminal.close()
    (rig.data_dir / "trusted_time.json").unlink()  # never synced, no RTC: time is unknown
    text = scenario.qr_text(rig.keys, 4, int(time.time()))
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{text}\n04000000000006\nbogus\n"))
    assert main(["run", "--simulate", "--config", str(cfg_file)]) == 0
    out = capsys.readouterr().out
    # No trusted time at all: nothing is served, but every input gets a verdict and the indicator says why.
    assert out.count("[verdict] REFUSE CLOCK_UNKNOWN") == 2
    assert "neither a card UID" in out and "[indicator] WARNING" in out


def test_setup_sim_then_run_serves_the_images(tmp_path: Path) -> None:
    env_py = sys.executable
    subprocess.run(
        [env_py, "-m", "device", "setup-sim", str(tmp_path), "--images", "3"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    res = subprocess.run(
        [
            env_py,
            "-m",
            "device",
            "run",
            "--simulate",
            "--config",
            str(tmp_path / "terminal.toml"),
            "--qr-dir",
            str(tmp_path / "qr"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert res.stdout.count("[verdict] SERVE") == 3
    assert "[indicator] SERVED" in res.stdout


def test_bad_config_is_an_error_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "t.toml").write_text("[terminal]\n")
    assert main(["run", "--simulate", "--config", str(tmp_path / "t.toml")]) == 2
    assert "lacks" in capsys.readouterr().err


@pytest.mark.usefixtures("pi_like")
def test_the_real_run_wires_the_drivers_from_config_and_stops_on_sigterm(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`run` without --simulate: drivers from device.hw.config.build (faked here), serving until SIGTERM."""

    class Camera:
        def __init__(self) -> None:
            self.frames = [render(rig.qr(4), Distortion.CLEAN, np.random.default_rng(3))]
            self.closed = False

        def read(self) -> np.ndarray:
            if not self.frames:
                raise StopIteration
            return self.frames.pop()

        def close(self) -> None:
            self.closed = True

    class Reader:
        fault = None  # as Pn532Reader: the fault it is recovering from, if any

        def __init__(self) -> None:
            self.cards = [CardRead(scenario.card_uid(6), None)]

        def poll(self) -> CardRead | None:
            if self.cards:
                return self.cards.pop()
            os.kill(os.getpid(), signal.SIGTERM)  # the service manager stops the terminal
            return None

    class Indicator(PrintingIndicator):
        closed = False

        def close(self) -> None:
            self.closed = True

    hw = SimpleNamespace(camera=Camera(), decoder=make_decoder("zxing"), nfc=Reader(), indicator=Indicator())
    built: list[object] = []

    def build(cfg: object) -> SimpleNamespace:
        built.append(cfg)
        return hw

    monkeypatch.setattr(hw_config, "build", build)
    cfg_file = rig.data_dir / "terminal.toml"
    toml = scenario.config_toml(rig.terminal.cfg).replace("http://backend.test", "http://127.0.0.1:9")
    cfg_file.write_text(toml + '[hardware]\ndecoder = "zxing"\n')
    rig.terminal.close()
    before = signal.getsignal(signal.SIGTERM)
    assert main(["run", "--config", str(cfg_file)]) == 0
    assert signal.getsignal(signal.SIGTERM) is before  # handlers restored
    assert len(built) == 1 and hw.camera.closed and hw.indicator.closed
    # Both inputs were decided and journaled (this host's clock decides which verdicts they got).
    shown = [s for s in hw.indicator.history if s in (IndicatorState.SERVED, IndicatorState.REFUSED)]
    assert len(shown) == 2
    assert len(Journal(rig.data_dir / "journal.sqlite3").records()) == 2


def test_a_terminal_that_cannot_start_says_why(rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    cfg_file = rig.data_dir / "terminal.toml"
    cfg_file.write_text(scenario.config_toml(rig.terminal.cfg))
    rig.terminal.close()
    (rig.data_dir / "device_key.pem").unlink()
    assert main(["run", "--simulate", "--config", str(cfg_file)]) == 1
    captured = capsys.readouterr()
    assert "enrol the terminal again" in captured.err and "[indicator] FAULT" in captured.out


def test_a_failing_driver_does_not_end_serving(rig: Rig) -> None:
    class FlakyCamera:
        def __init__(self) -> None:
            self.reads = 0

        def read(self) -> np.ndarray:
            self.reads += 1
            if self.reads == 1:
                return np.zeros((4, 4, 3), dtype=np.uint8)  # not grayscale: the decoder refuses it
            if self.reads == 2:
                return render(rig.qr(4), Distortion.CLEAN, np.random.default_rng(5))
            raise StopIteration

    got: list[Verdict] = []
    serve(
        rig.terminal,
        camera=FlakyCamera(),
        decoder=make_decoder("zxing"),
        reader=None,
        stop=threading.Event(),
        report=got.append,
    )
    assert [v.voucher_id for v in got if v.served] == [4]


def test_the_reported_software_version_is_the_package_version() -> None:
    from importlib.metadata import version

    from device import SOFTWARE_VERSION

    assert SOFTWARE_VERSION == version("school-meals")


def test_a_real_run_off_the_pi_names_what_is_missing_in_one_line(
    rig: Rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(preflight, "ROOT", tmp_path / "laptop")  # no /dev/gpiochip0, no serial port
    monkeypatch.setattr(preflight, "_importable", lambda module: module != "picamera2")
    cfg_file = rig.data_dir / "terminal.toml"
    cfg_file.write_text(scenario.config_toml(rig.terminal.cfg))
    rig.terminal.close()
    assert main(["run", "--config", str(cfg_file)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "GPIO (/dev/gpiochip0" in err and "picamera2" in err and "/dev/serial0" in err
    assert "--simulate" in err


def test_preflight_names_the_node_of_the_configured_nfc_bus(tmp_path: Path) -> None:
    from device.hw.config import HardwareConfig

    for node in ("dev/gpiochip0", "dev/i2c-1"):
        (tmp_path / node).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / node).touch()
    every = lambda module: True  # noqa: E731
    assert preflight.missing(HardwareConfig(nfc_bus="i2c"), root=tmp_path, importable=every) == []
    assert preflight.problem(HardwareConfig(nfc_bus="i2c"), root=tmp_path, importable=every) is None
    spi = preflight.missing(HardwareConfig(nfc_bus="spi"), root=tmp_path, importable=every)
    assert spi == ["NFC reader port /dev/spidev0.0 (dtparam=spi=on in /boot/firmware/config.txt)"]
    no_zbar = preflight.missing(
        HardwareConfig(nfc_bus="i2c", decoder="zbar"), root=tmp_path, importable=lambda m: m != "pyzbar"
    )
    assert no_zbar == ["QR decoder zbar (make install)"]
    no_opencv = preflight.missing(  # the default cascade filters with OpenCV
        HardwareConfig(nfc_bus="i2c"), root=tmp_path, importable=lambda m: m != "cv2"
    )
    assert no_opencv == ["QR decoder zxing (make install)"]


def test_a_real_run_whose_driver_fails_to_start_prints_one_line(
    rig: Rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(preflight, "problem", lambda cfg: None)  # everything looks present...

    def build(cfg: object) -> None:
        raise RuntimeError("GPIO17 is busy")  # ...but a pin is held by another program

    monkeypatch.setattr(hw_config, "build", build)
    cfg_file = rig.data_dir / "terminal.toml"
    cfg_file.write_text(scenario.config_toml(rig.terminal.cfg))
    rig.terminal.close()
    assert main(["run", "--config", str(cfg_file)]) == 3
    err = capsys.readouterr().err
    assert err == "error: the terminal's hardware did not start: RuntimeError: GPIO17 is busy\n"


def test_setup_sim_prints_commands_that_run_as_printed(tmp_path: Path) -> None:
    """Relative folder with a space, lines pasted into a shell in another folder: both serve."""
    res = subprocess.run(
        [sys.executable, "-m", "device", "setup-sim", "my sim", "--images", "2"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    lines = [ln.strip() for ln in res.stdout.splitlines()[1:]]
    assert len(lines) == 2 and all(ln.startswith(sys.executable) for ln in lines)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    qr = subprocess.run(lines[0], shell=True, cwd=elsewhere, capture_output=True, text=True, check=True)
    assert qr.stdout.count("[verdict] SERVE") == 2
    taps = subprocess.run(lines[1], shell=True, cwd=elsewhere, capture_output=True, text=True, check=True)
    # Card 2 belongs to voucher 2, whose QR image was just served: the same journal, the one-meal rule.
    assert "REFUSE ALREADY_SERVED voucher 2" in taps.stdout and "REFUSE CARD_UNKNOWN" in taps.stdout

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from adafruit_pn532.uart import PN532_UART
from gpiozero.pins.mock import MockFactory
from PIL import Image

from device.hw.camera import PiCamera
from device.hw.decoders import ZxingDecoder, make_decoder
from device.hw.fake_pn532 import FakeNtag, FakePn532Serial
from device.hw.indicator import LedBuzzerIndicator
from device.hw.nfc import Pn532Reader
from device.hw.testimages import Distortion, render
from provisioning.progress import Progress
from provisioning.runner import Completed
from provisioning.selftest import SELFTEST_QR, Rig, Verdict, run_selftest, table

from ..hardware.test_camera import FakePicamera2
from .recording_runner import RecordingRunner


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 0.5
        return self.t


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    f = MockFactory()
    yield f
    f.reset()


def make_rig(
    tmp_path: Path,
    pins: MockFactory,
    *,
    qr: bytes = SELFTEST_QR,
    card: bool = True,
    ntp: str = "yes",
    answers: bool = True,
    rtc: bool = True,
    out: io.StringIO | None = None,
) -> tuple[Rig, list[str]]:
    FakePicamera2.instances.clear()
    port = FakePn532Serial()
    if card:
        port.card = FakeNtag(bytes.fromhex("04112233445566"))
    questions: list[str] = []

    def camera() -> PiCamera:
        cam = PiCamera(picamera2_class=FakePicamera2)
        cam.open()
        blank = np.full((480, 640), 90, np.uint8)
        FakePicamera2.instances[-1].frames += [
            blank,
            blank,
            render(qr, Distortion.PERSPECTIVE, np.random.default_rng(3)),
        ]
        return cam

    def ask(q: str) -> bool:
        questions.append(q)
        return answers

    if rtc:
        (tmp_path / "root/sys/class/rtc/rtc0").mkdir(parents=True)
        (tmp_path / "root/sys/class/rtc/rtc0/name").write_text("rtc-ds1307 1-0068\n")
    rig = Rig(
        indicator=lambda: LedBuzzerIndicator(17, 27, pin_factory=pins),
        camera=camera,
        decoder=ZxingDecoder,
        nfc=lambda: Pn532Reader(lambda: PN532_UART(port), poll_timeout_s=0.02, io_timeout_s=0.02),
        runner=RecordingRunner({("timedatectl", "show"): Completed(0, ntp)}),
        data_dir=tmp_path / "data",
        root=tmp_path / "root",
        ask=ask,
        camera_timeout_s=5,
        card_timeout_s=3,
        monotonic=Clock(),
        progress=Progress(5, out),
    )
    return rig, questions


def verdicts(results: list) -> dict[str, Verdict]:  # type: ignore[type-arg]
    return {r.name: r.verdict for r in results}


def test_everything_passes_on_a_good_terminal(tmp_path: Path, pins: MockFactory) -> None:
    out = io.StringIO()
    rig, questions = make_rig(tmp_path, pins, out=out)
    results = run_selftest(rig)
    assert all(v is Verdict.PASS for v in verdicts(results).values()), table(results)
    assert set(verdicts(results)) == {
        "LED",
        "buzzer",
        "camera",
        "NFC reader",
        "NFC card",
        "RTC",
        "NTP",
        "disk space",
        "disk write",
    }
    assert len(questions) == 2
    text = table(results)
    assert "ALL PASSED" in text and "PN532 firmware 1.6" in text and "04112233445566" in text
    steps = [line for line in out.getvalue().splitlines() if line.startswith("[")]
    assert steps == [
        "[1/5] LED and buzzer…",
        "[2/5] camera…",
        "[3/5] NFC reader…",
        "[4/5] clock…",
        "[5/5] storage…",
    ]
    assert "hold the printed test QR" in out.getvalue() and "tap any card" in out.getvalue()


def test_failures_are_listed_with_fixes(tmp_path: Path, pins: MockFactory) -> None:
    rig, _ = make_rig(tmp_path, pins, qr=b"some other code", card=False, ntp="no", answers=False, rtc=False)
    results = run_selftest(rig)
    v = verdicts(results)
    assert v["camera"] is Verdict.FAIL and v["NFC card"] is Verdict.FAIL and v["NTP"] is Verdict.FAIL
    assert v["LED"] is Verdict.FAIL and v["buzzer"] is Verdict.FAIL and v["RTC"] is Verdict.WARN
    assert v["NFC reader"] is Verdict.PASS
    assert all(r.fix for r in results if r.verdict is not Verdict.PASS)
    assert "5 FAILED" in table(results)


def test_missing_devices_fail_their_checks_only(tmp_path: Path, pins: MockFactory) -> None:
    rig, _ = make_rig(tmp_path, pins)

    def broken() -> PiCamera:
        raise RuntimeError("no camera 0")

    rig.camera = broken
    rig.nfc = lambda: Pn532Reader(lambda: (_ for _ in ()).throw(OSError("no /dev/serial0")))
    v = verdicts(run_selftest(rig))
    assert v["camera"] is Verdict.FAIL and v["NFC reader"] is Verdict.FAIL
    assert v["LED"] is Verdict.PASS and v["disk write"] is Verdict.PASS


@pytest.mark.parametrize("decoder", ["zxing", "zbar"])
def test_printed_test_card_holds_the_code_the_camera_check_wants(decoder: str) -> None:
    png = Path(__file__).parents[2] / "hardware_docs/selftest_qr.png"
    frame = np.asarray(Image.open(png).convert("L"))
    assert make_decoder(decoder).decode_bytes(frame) == [SELFTEST_QR]

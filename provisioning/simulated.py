"""`selftest --simulate`: the whole self-test table run against simulated hardware, on any machine.

A technician sees every step, prompt and check before meeting a real Pi. The twins are the ones the tests
use at the library boundary: gpiozero's MockFactory for the LED and buzzer pins, a camera whose frames show
the printed test QR, a PN532 answering on a fake serial port with an NTAG card on
it, a DS3231 in a temporary /sys, and timedatectl answering "synchronised". The storage check is real:
it measures this machine's disk in a temporary folder.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from device.hw.config import HardwareConfig
from device.hw.decoders import make_decoder
from device.hw.fake_pn532 import FakeNtag, FakePn532Serial
from device.hw.indicator import LedBuzzerIndicator
from device.hw.nfc import Pn532Reader
from device.hw.testimages import Distortion, render

from .runner import Completed
from .selftest import SELFTEST_QR, Rig

CARD_UID = bytes.fromhex("04a1b2c3d4e5f6")


class TestQrCamera:
    """Two empty frames (nothing held up yet), then the printed test card's QR."""

    def __init__(self, size: tuple[int, int]) -> None:
        self._size = size
        self._frames: list[npt.NDArray[np.uint8]] = []

    def open(self) -> None:
        w, h = self._size
        blank = np.full((h, w), 90, np.uint8)
        code = render(SELFTEST_QR, Distortion.CLEAN, np.random.default_rng(1), size=(w, h))
        self._frames = [blank, blank, code]

    def read(self) -> npt.NDArray[np.uint8]:
        return self._frames.pop(0) if len(self._frames) > 1 else self._frames[0]

    def close(self) -> None:
        self._frames = []


def _timedatectl(argv: Sequence[str]) -> Completed:
    if list(argv[:2]) == ["timedatectl", "show"]:
        return Completed(0, "yes")
    return Completed(127, f"{argv[0]}: not simulated")


def _watching(pins: Any, hw: HardwareConfig, say: Callable[[str], object]) -> Callable[[str], bool]:
    """The technician's eyes and ears: "yes" if the LED's (buzzer's) simulated pin really came on twice
    or more within 1.5 s of the question, as the FAULT pattern's blinking and beeps make it."""

    def ask(question: str) -> bool:
        gpio = hw.buzzer_gpio if "buzzer" in question else hw.led_gpio
        pin = pins.pin(gpio)
        deadline = time.monotonic() + 1.5
        while (ons := sum(s.state for s in pin.states)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        seen = bool(ons >= 2)
        say(f"{question} [y/n] {'y' if seen else 'n'}   (simulated: GPIO{gpio} came on {ons}x)")
        return seen

    return ask


@contextmanager
def simulated_rig(hw: HardwareConfig, say: Callable[[str], object] = print) -> Iterator[Rig]:
    """A Rig over the twins, in a temporary folder removed afterwards."""
    from adafruit_pn532.uart import PN532_UART
    from gpiozero.pins.mock import MockFactory

    pins = MockFactory()
    port = FakePn532Serial()
    port.card = FakeNtag(CARD_UID)
    with tempfile.TemporaryDirectory(prefix="selftest-sim-") as tmp:
        root = Path(tmp) / "root"
        (root / "sys/class/rtc/rtc0").mkdir(parents=True)
        (root / "sys/class/rtc/rtc0/name").write_text("rtc-ds1307 1-0068 (simulated DS3231)\n")
        try:
            yield Rig(
                indicator=lambda: LedBuzzerIndicator(hw.led_gpio, hw.buzzer_gpio, pin_factory=pins),
                camera=lambda: TestQrCamera((hw.camera_width, hw.camera_height)),
                decoder=lambda: make_decoder(hw.decoder),
                nfc=lambda: Pn532Reader(lambda: PN532_UART(port), poll_timeout_s=0.05, io_timeout_s=0.05),
                runner=_timedatectl,
                data_dir=Path(tmp) / "data",
                root=root,
                ask=_watching(pins, hw, say),
                camera_timeout_s=2.0,
                card_timeout_s=2.0,
            )
        finally:
            pins.reset()

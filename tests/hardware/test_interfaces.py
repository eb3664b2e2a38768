"""The real drivers are the terminal core's Protocol types (device/interfaces.py).

The first test uses each driver only through its Protocol type, on fakes at the library boundary; the
second has mypy (strict, as the project runs it) check this file, so an assignment of a driver that no
longer fits its Protocol fails the suite, not only `make typecheck`.
"""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from adafruit_pn532.uart import PN532_UART
from gpiozero.pins.mock import MockFactory
from mypy import api as mypy_api

from device.hw.camera import PiCamera
from device.hw.decoders import ZbarDecoder, ZxingDecoder
from device.hw.fake_pn532 import FakeMifareClassic, FakePn532Serial
from device.hw.indicator import LedBuzzerIndicator
from device.hw.nfc import Pn532Reader
from device.hw.testimages import Distortion, render
from device.interfaces import CardRead, CardReader, FrameSource, Indicator, IndicatorState, QrDecoder

from .test_camera import FakePicamera2

ROOT = Path(__file__).parents[2]
PAYLOAD = b"SW1:" + b"6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEJ3"


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.reset()


def test_drivers_work_through_the_core_protocols(pins: MockFactory) -> None:
    camera: FrameSource = PiCamera(picamera2_class=FakePicamera2)
    decoders: list[QrDecoder] = [ZxingDecoder(), ZbarDecoder()]
    port = FakePn532Serial()
    reader: CardReader = Pn532Reader(lambda: PN532_UART(port), poll_timeout_s=0.02, io_timeout_s=0.02)
    indicator: Indicator = LedBuzzerIndicator(pin_factory=pins)

    assert camera.read().shape == (480, 640)  # opens on first read
    FakePicamera2.instances[-1].frames.append(
        render(PAYLOAD.decode(), Distortion.CLEAN, np.random.default_rng(7))
    )
    frame = camera.read()
    assert [d.decode_bytes(frame) for d in decoders] == [[PAYLOAD], [PAYLOAD]]

    port.card = FakeMifareClassic(bytes.fromhex("0a0b0c0d"))
    assert reader.poll() == CardRead(bytes.fromhex("0a0b0c0d"), None)
    assert reader.poll() is None  # the same tap

    try:
        shown = []
        for state in (IndicatorState.WARNING, IndicatorState.SERVED):
            indicator.show(state)
            shown.append(indicator.state)
        assert shown == [IndicatorState.WARNING, IndicatorState.SERVED]
    finally:
        assert isinstance(indicator, LedBuzzerIndicator)
        indicator.close()


def test_protocol_fit_is_type_checked() -> None:
    out, err, status = mypy_api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--follow-imports=silent",
            str(Path(__file__)),
        ]
    )
    assert status == 0, out + err

from collections.abc import Iterator

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from device.hw.config import HardwareConfig, build
from device.hw.decoders import DecoderName
from device.hw.pn532_bus import Bus


@pytest.fixture
def mock_pins() -> Iterator[MockFactory]:
    previous = Device.pin_factory
    Device.pin_factory = MockFactory()
    yield Device.pin_factory
    Device.pin_factory.reset()
    Device.pin_factory = previous


def test_defaults_are_the_documented_wiring() -> None:
    cfg = HardwareConfig.from_table({})
    assert (cfg.led_gpio, cfg.buzzer_gpio, cfg.nfc_bus, cfg.nfc_cs_gpio) == (17, 27, "uart", 5)
    assert cfg.pn532().bus is Bus.UART


@pytest.mark.parametrize(
    "table",
    [{"decoder": "opencv"}, {"nfc_bus": "usb"}, {"nfc_cs_gpio": 99}, {"led_pin": 17}],
)
def test_bad_hardware_tables_are_refused_at_load(table: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        HardwareConfig.from_table(table)


def test_build_gives_the_configured_drivers(mock_pins: MockFactory) -> None:
    hw = build(HardwareConfig(decoder="zbar", led_gpio=22, buzzer_gpio=23))
    assert hw.decoder.name is DecoderName.ZBAR
    assert mock_pins.pin(22).function == "output" and mock_pins.pin(23).function == "output"
    assert mock_pins.pin(17).function == "input"  # the default LED pin is left alone
    hw.indicator.close()

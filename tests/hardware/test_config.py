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
    [
        {"decoder": "opencv"},
        {"nfc_bus": "usb"},
        {"nfc_cs_gpio": 99},
        {"led_pin": 17},
        {"led_gpio": 99},
        {"led_gpio": 27},  # the buzzer's
        {"buzzer_gpio": 14},  # the PN532's UART
        {"nfc_bus": "i2c", "led_gpio": 12},  # the PN532's P32 line on I2C
        {"camera_width": 641},
        {"camera_height": "480"},
    ],
)
def test_bad_hardware_tables_are_refused_at_load(table: dict[str, object]) -> None:
    with pytest.raises(ValueError) as e:
        HardwareConfig.from_table(table)
    assert any(key in str(e.value) for key in table) or "BCM" in str(e.value) or "taken" in str(e.value)


def test_pins_free_on_one_bus_may_be_used_on_another() -> None:
    assert HardwareConfig(nfc_bus="spi", led_gpio=12).led_gpio == 12  # P32 is only taken on I2C
    assert HardwareConfig(nfc_uart_reset=False, led_gpio=6).led_gpio == 6


def test_build_gives_the_configured_drivers(mock_pins: MockFactory) -> None:
    hw = build(HardwareConfig(decoder="zbar", led_gpio=22, buzzer_gpio=23))
    assert hw.decoder.name is DecoderName.ZBAR
    assert mock_pins.pin(22).function == "output" and mock_pins.pin(23).function == "output"
    assert mock_pins.pin(17).function == "input"  # the default LED pin is left alone
    hw.indicator.close()

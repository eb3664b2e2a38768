from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from device.hw.pn532_bus import Bus, Pn532Config, pn532_factory


class Recorder:
    """Stand-ins for pyserial, Blinka and adafruit_pn532 modules that record how they were called."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.freed: list[str] = []

    def _rec(self, name: str) -> Any:
        def fn(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            obj = SimpleNamespace(name=name, args=args, kwargs=kwargs)
            label = f"{name}{args[:1]}"
            if name == "Serial":  # pyserial closes; Blinka's busio and digitalio objects deinit
                obj.close = lambda: self.freed.append(label)
            else:
                obj.deinit = lambda: self.freed.append(label)
            return obj

        return fn

    def importer(self, name: str) -> ModuleType:
        mod = ModuleType(name)
        if name == "serial":
            mod.Serial = self._rec("Serial")  # type: ignore[attr-defined]
        elif name == "board":
            for pin in ("SCL", "SDA", "SCK", "MOSI", "MISO", "D5", "D6", "D8", "D12", "D25"):
                setattr(mod, pin, pin)
        elif name == "busio":
            mod.I2C = self._rec("I2C")  # type: ignore[attr-defined]
            mod.SPI = self._rec("SPI")  # type: ignore[attr-defined]
        elif name == "digitalio":
            mod.DigitalInOut = self._rec("DigitalInOut")  # type: ignore[attr-defined]
        elif name.startswith("adafruit_pn532."):
            for cls in ("PN532_UART", "PN532_I2C", "PN532_SPI"):
                setattr(mod, cls, self._rec(cls))
        else:
            raise ImportError(name)
        return mod

    def named(self, name: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(a, k) for n, a, k in self.calls if n == name]


def test_uart_opens_the_configured_port_and_reopens_after_a_fault() -> None:
    rec = Recorder()
    build = pn532_factory(Pn532Config(uart_port="/dev/ttyAMA0", uart_baudrate=115200), rec.importer)
    build()
    assert rec.freed == []
    build()
    serial_calls = rec.named("Serial")
    assert [a for a, _ in serial_calls] == [("/dev/ttyAMA0",), ("/dev/ttyAMA0",)]
    assert serial_calls[0][1]["baudrate"] == 115200
    # the first build's port and reset line are released before the second claims them
    assert rec.freed == ["DigitalInOut('D6',)", "Serial('/dev/ttyAMA0',)"]
    chips = rec.named("PN532_UART")
    assert len(chips) == 2 and chips[0][1]["reset"].args == ("D6",)  # hard reset through RSTPDN


def test_uart_without_a_wired_reset_line_claims_no_gpio() -> None:
    rec = Recorder()
    pn532_factory(Pn532Config(uart_port="/dev/ttyUSB0", uart_reset=False), rec.importer)()
    assert rec.named("DigitalInOut") == [] and rec.named("PN532_UART")[0][1]["reset"] is None


def test_i2c_rebuild_releases_bus_and_pins() -> None:
    rec = Recorder()
    build = pn532_factory(Pn532Config(bus=Bus.I2C), rec.importer)
    build()
    build()
    assert sorted(rec.freed) == ["DigitalInOut('D12',)", "DigitalInOut('D6',)", "I2C('SCL',)"]


def test_i2c_wires_reset_and_req_pins() -> None:
    rec = Recorder()
    pn532_factory(Pn532Config(bus=Bus.I2C, reset_gpio=25, req_gpio=12), rec.importer)()
    assert rec.named("I2C") == [(("SCL", "SDA"), {})]
    ((_, kwargs),) = rec.named("PN532_I2C")
    assert kwargs["reset"].args == ("D25",) and kwargs["req"].args == ("D12",)


def test_spi_uses_chip_select() -> None:
    rec = Recorder()
    pn532_factory(Pn532Config(bus=Bus.SPI), rec.importer)()
    ((args, _),) = rec.named("PN532_SPI")
    assert args[1].args == ("D5",)  # a plain GPIO, not spidev's CE0


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(bus=Bus.I2C, reset_gpio=None),
        dict(bus=Bus.I2C, req_gpio=None),
        dict(cs_gpio=40),
        dict(reset_gpio=1),
        dict(bus=Bus.SPI, cs_gpio=8),  # CE0 belongs to spidev
        dict(bus=Bus.SPI, cs_gpio=6),  # same line as reset
        dict(reset_gpio=15),  # UART RXD
    ],
)
def test_bad_wiring_config_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Pn532Config(**kwargs)

from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from device.hw.pn532_bus import Bus, Pn532Config, pn532_factory


class Recorder:
    """Stand-ins for pyserial, Blinka and adafruit_pn532 modules that record how they were called."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.closed: list[object] = []

    def _rec(self, name: str) -> Any:
        def fn(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            obj = SimpleNamespace(name=name, args=args, kwargs=kwargs)
            obj.close = lambda: self.closed.append(obj)
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
    build = pn532_factory(Pn532Config(uart_port="/dev/ttyUSB0", uart_baudrate=115200), rec.importer)
    build()
    build()
    serial_calls = rec.named("Serial")
    assert [a for a, _ in serial_calls] == [("/dev/ttyUSB0",), ("/dev/ttyUSB0",)]
    assert serial_calls[0][1]["baudrate"] == 115200
    assert len(rec.closed) == 1  # the first port is closed before the second opens
    assert len(rec.named("PN532_UART")) == 2


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
    ],
)
def test_bad_wiring_config_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Pn532Config(**kwargs)

"""Builds the adafruit_pn532 object for the configured bus: UART (default), I2C or SPI.

UART goes through pyserial, which needs no Blinka board detection and avoids the Pi's I2C
clock-stretching bug. I2C needs the reset and req (P32) pins wired so the chip can be woken and reset;
SPI needs a chip-select pin. Library imports happen inside the builders: off a Pi, Blinka's `board`
cannot be imported, and tests hand in their own modules instead.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from .nfc import Pn532Like


class Bus(enum.StrEnum):
    UART = "uart"
    I2C = "i2c"
    SPI = "spi"


@dataclass(frozen=True, slots=True)
class Pn532Config:
    bus: Bus = Bus.UART
    uart_port: str = "/dev/serial0"  # the Pi's primary UART on GPIO14/15 once the console is moved off it
    uart_baudrate: int = 115200
    reset_gpio: int | None = 6  # BCM number wired to the PN532's RSTPDN; required on I2C
    req_gpio: int | None = 12  # BCM number wired to P32 (I2C wake-up request); required on I2C
    cs_gpio: int = 5  # SPI chip select as a plain GPIO: CE0 (GPIO8) belongs to the kernel spidev driver

    def __post_init__(self) -> None:
        if self.bus is Bus.I2C and (self.reset_gpio is None or self.req_gpio is None):
            raise ValueError(
                "PN532 over I2C needs reset_gpio and req_gpio wired (see hardware_docs/wiring.md)"
            )
        for pin in (self.reset_gpio, self.req_gpio, self.cs_gpio):
            if pin is not None and not 2 <= pin <= 27:
                raise ValueError(f"GPIO {pin} is not a usable BCM pin (2-27)")


Importer = Callable[[str], ModuleType]


def pn532_factory(cfg: Pn532Config, importer: Importer = importlib.import_module) -> Callable[[], Pn532Like]:
    """A callable that builds (and so resets and wakes) the PN532; Pn532Reader calls it again after a fault."""
    match cfg.bus:
        case Bus.UART:
            return _UartFactory(cfg, importer)
        case Bus.I2C:
            return lambda: _i2c(cfg, importer)
        case Bus.SPI:
            return lambda: _spi(cfg, importer)


class _UartFactory:
    """Reopens the port on every build (a replugged USB adapter is a new device) and closes the old one."""

    def __init__(self, cfg: Pn532Config, importer: Importer) -> None:
        self._cfg = cfg
        self._importer = importer
        self._port: object | None = None

    def __call__(self) -> Pn532Like:
        if self._port is not None:
            try:
                self._port.close()  # type: ignore[attr-defined]
            except OSError:
                pass  # already gone with the adapter
        serial = self._importer("serial")
        self._port = serial.Serial(self._cfg.uart_port, baudrate=self._cfg.uart_baudrate, timeout=0.1)
        chip: Pn532Like = self._importer("adafruit_pn532.uart").PN532_UART(self._port, debug=False)
        return chip


def _pin(importer: Importer, gpio: int | None) -> object | None:
    if gpio is None:
        return None
    board, digitalio = importer("board"), importer("digitalio")
    pin: object = digitalio.DigitalInOut(getattr(board, f"D{gpio}"))
    return pin


def _i2c(cfg: Pn532Config, importer: Importer) -> Pn532Like:
    board, busio = importer("board"), importer("busio")
    bus = busio.I2C(board.SCL, board.SDA)
    chip: Pn532Like = importer("adafruit_pn532.i2c").PN532_I2C(
        bus, reset=_pin(importer, cfg.reset_gpio), req=_pin(importer, cfg.req_gpio), debug=False
    )
    return chip


def _spi(cfg: Pn532Config, importer: Importer) -> Pn532Like:
    board, busio = importer("board"), importer("busio")
    bus = busio.SPI(board.SCK, board.MOSI, board.MISO)
    chip: Pn532Like = importer("adafruit_pn532.spi").PN532_SPI(
        bus, _pin(importer, cfg.cs_gpio), reset=_pin(importer, cfg.reset_gpio), debug=False
    )
    return chip

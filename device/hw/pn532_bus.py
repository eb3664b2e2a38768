"""Builds the adafruit_pn532 object for the configured bus: UART (default), I2C or SPI.

UART goes through pyserial and avoids the Pi's I2C clock-stretching bug; its reset line (RSTPDN) is
used too when wired, so a hung chip is hard-reset, not only re-woken. I2C needs the reset and req (P32)
pins wired so the chip can be woken and reset; SPI needs a chip-select pin. Library imports happen at
build time: off a Pi, Blinka's `board` cannot be imported, and tests hand in their own modules instead.
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
    uart_reset: bool = True  # UART: hard-reset through reset_gpio too (false: not wired, e.g. USB adapter)
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
        seen: dict[int, str] = {}
        for name, pin in self.pins().items():
            if pin in seen:
                raise ValueError(f"{name} GPIO {pin} is already taken by {seen[pin]}")
            seen[pin] = name

    def pins(self) -> dict[str, int]:
        """The GPIO lines this wiring takes: the bus's own and the control lines the driver drives."""
        lines: dict[str, int | None]
        match self.bus:
            case Bus.UART:
                lines = {"UART TXD": 14, "UART RXD": 15}
                lines["nfc_reset_gpio"] = self.reset_gpio if self.uart_reset else None
            case Bus.I2C:
                lines = {"I2C SDA": 2, "I2C SCL": 3}
                lines |= {"nfc_reset_gpio": self.reset_gpio, "nfc_req_gpio": self.req_gpio}
            case Bus.SPI:
                lines = {"SPI CE1": 7, "SPI CE0": 8, "SPI MISO": 9, "SPI MOSI": 10, "SPI SCLK": 11}
                lines |= {"nfc_cs_gpio": self.cs_gpio, "nfc_reset_gpio": self.reset_gpio}
        return {name: pin for name, pin in lines.items() if pin is not None}


Importer = Callable[[str], ModuleType]


def pn532_factory(cfg: Pn532Config, importer: Importer = importlib.import_module) -> Callable[[], Pn532Like]:
    """A callable that builds (and so resets and wakes) the PN532; Pn532Reader calls it again after a fault."""
    return _Factory(cfg, importer)


class _Factory:
    """Frees what the previous build held (serial port, bus, GPIO lines) before building afresh: a
    replugged USB adapter is a new device, and a GPIO line still claimed by the old object would make
    the new claim fail ("busy") on the Pi 5's lgpio."""

    def __init__(self, cfg: Pn532Config, importer: Importer) -> None:
        self._cfg = cfg
        self._importer = importer
        self._held: list[object] = []

    def __call__(self) -> Pn532Like:
        self._release()
        cfg, imp = self._cfg, self._importer
        chip: Pn532Like
        match cfg.bus:
            case Bus.UART:
                port = self._hold(
                    imp("serial").Serial(cfg.uart_port, baudrate=cfg.uart_baudrate, timeout=0.1)
                )
                reset = self._pin(cfg.reset_gpio) if cfg.uart_reset else None
                chip = imp("adafruit_pn532.uart").PN532_UART(port, reset=reset, debug=False)
            case Bus.I2C:
                board = imp("board")
                bus = self._hold(imp("busio").I2C(board.SCL, board.SDA))
                chip = imp("adafruit_pn532.i2c").PN532_I2C(
                    bus, reset=self._pin(cfg.reset_gpio), req=self._pin(cfg.req_gpio), debug=False
                )
            case Bus.SPI:
                board = imp("board")
                bus = self._hold(imp("busio").SPI(board.SCK, board.MOSI, board.MISO))
                chip = imp("adafruit_pn532.spi").PN532_SPI(
                    bus, self._pin(cfg.cs_gpio), reset=self._pin(cfg.reset_gpio), debug=False
                )
        return chip

    def _hold(self, resource: object) -> object:
        self._held.append(resource)
        return resource

    def _pin(self, gpio: int | None) -> object | None:
        if gpio is None:
            return None
        board = self._importer("board")
        return self._hold(self._importer("digitalio").DigitalInOut(getattr(board, f"D{gpio}")))

    def _release(self) -> None:
        held, self._held = self._held, []
        for resource in reversed(held):
            free = getattr(resource, "deinit", None) or getattr(resource, "close", None)
            try:
                if free is not None:
                    free()
            except (OSError, RuntimeError, ValueError):
                pass  # already gone with the adapter, or never fully opened

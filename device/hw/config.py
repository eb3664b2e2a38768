"""The `[hardware]` table of the terminal's TOML config, and building the real drivers from it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .camera import PiCamera
from .decoders import BytesDecoder, DecoderName, make_decoder
from .indicator import LedBuzzerIndicator
from .nfc import Pn532Reader
from .pn532_bus import Bus, Pn532Config, pn532_factory


@dataclass(frozen=True, slots=True)
class HardwareConfig:
    decoder: str = DecoderName.ZXING.value
    camera_width: int = 640
    camera_height: int = 480
    led_gpio: int = 17
    buzzer_gpio: int = 27
    nfc_bus: str = Bus.UART.value
    nfc_uart_port: str = "/dev/serial0"
    nfc_reset_gpio: int = 6
    nfc_req_gpio: int = 12
    nfc_cs_gpio: int = 5
    nfc_uart_reset: bool = True  # UART: RSTPDN wired to nfc_reset_gpio (false for a USB-serial adapter)

    def __post_init__(self) -> None:
        """Every bad value is refused here, at load time, with its key named, not at the first scan."""
        if self.decoder not in set(DecoderName):
            raise ValueError(f"decoder {self.decoder!r}: choose one of {[d.value for d in DecoderName]}")
        if self.nfc_bus not in set(Bus):
            raise ValueError(f"nfc_bus {self.nfc_bus!r}: choose one of {[b.value for b in Bus]}")
        for name in ("camera_width", "camera_height"):
            size = getattr(self, name)
            if type(size) is not int or not 64 <= size <= 2304 or size % 2:
                raise ValueError(f"{name} {size!r} must be an even number of pixels, 64-2304")
        taken = self.pn532().pins()
        for name in ("led_gpio", "buzzer_gpio"):
            pin = getattr(self, name)
            if type(pin) is not int or not 2 <= pin <= 27:
                raise ValueError(f"{name} {pin!r} is not a usable BCM pin (2-27)")
            clash = [k for k, v in taken.items() if v == pin]
            if clash:
                raise ValueError(f"{name} {pin} is already taken by {clash[0]} (see hardware_docs/wiring.md)")
            taken[name] = pin

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> HardwareConfig:
        """From the parsed `[hardware]` table; unknown keys are refused (a typo must not pass silently)."""
        unknown = set(table) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown [hardware] keys: {sorted(unknown)}")
        return cls(**table)

    def pn532(self) -> Pn532Config:
        return Pn532Config(
            bus=Bus(self.nfc_bus),
            uart_port=self.nfc_uart_port,
            reset_gpio=self.nfc_reset_gpio,
            uart_reset=self.nfc_uart_reset,
            req_gpio=self.nfc_req_gpio,
            cs_gpio=self.nfc_cs_gpio,
        )


@dataclass(frozen=True, slots=True)
class RealHardware:
    camera: PiCamera
    decoder: BytesDecoder
    nfc: Pn532Reader
    indicator: LedBuzzerIndicator


def build(cfg: HardwareConfig) -> RealHardware:
    """The Pi's drivers. Nothing touches the hardware until first use except the GPIO pins (gpiozero)."""
    return RealHardware(
        camera=PiCamera((cfg.camera_width, cfg.camera_height)),
        decoder=make_decoder(cfg.decoder),
        nfc=Pn532Reader(pn532_factory(cfg.pn532())),
        indicator=LedBuzzerIndicator(cfg.led_gpio, cfg.buzzer_gpio),
    )

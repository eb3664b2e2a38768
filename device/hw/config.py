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

    def __post_init__(self) -> None:
        DecoderName(self.decoder)  # ValueError names a bad value at load time, not at the first scan
        self.pn532()

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

"""Before the real drivers start: is this the terminal's hardware at all? One line naming what is missing.

Run on a laptop or a server, `python -m device run` (no `--simulate`) would otherwise fail deep inside
gpiozero or picamera2 with a long traceback. The probes only look for device nodes and importable
libraries; they open nothing, so a service that is already running is not disturbed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from .config import HardwareConfig
from .pn532_bus import Bus

ROOT = Path("/")  # tests point this at a folder of their own


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing(
    cfg: HardwareConfig, *, root: Path | None = None, importable: Callable[[str], bool] | None = None
) -> list[str]:
    """What this machine lacks of the terminal's hardware, each with where to look; empty on a ready Pi."""
    base = root or ROOT
    has = importable or _importable
    out: list[str] = []
    if not (base / "dev/gpiochip0").exists():
        out.append("GPIO (/dev/gpiochip0: not a Raspberry Pi?)")
    if not has("picamera2"):
        out.append("camera library picamera2 (apt-get install -y python3-picamera2)")
    match Bus(cfg.nfc_bus):
        case Bus.UART:
            node = cfg.nfc_uart_port
            how = "enable_uart=1 in /boot/firmware/config.txt, or nfc_uart_port in [hardware]"
        case Bus.I2C:
            node, how = "/dev/i2c-1", "dtparam=i2c_arm=on in /boot/firmware/config.txt"
        case Bus.SPI:
            node, how = "/dev/spidev0.0", "dtparam=spi=on in /boot/firmware/config.txt"
    if not (base / node.lstrip("/")).exists():
        out.append(f"NFC reader port {node} ({how})")
    if not all(has(m) for m in (("pyzbar",) if cfg.decoder == "zbar" else ("zxingcpp", "cv2"))):
        out.append(f"QR decoder {cfg.decoder} (make install)")
    return out


def problem(
    cfg: HardwareConfig, *, root: Path | None = None, importable: Callable[[str], bool] | None = None
) -> str | None:
    """The one line to print, or None when everything is there."""
    found = missing(cfg, root=root, importable=importable)
    if not found:
        return None
    return (
        f"error: this machine lacks the terminal's hardware: {'; '.join(found)}."
        " To run without it: python -m device run --simulate (see README)"
    )

"""The terminal's TOML config as provisioning writes it: identity from enrolment, paths, hardware wiring."""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from device.hw.config import HardwareConfig

from .errors import Problem, ProvisioningError

DEFAULT_CONFIG = Path("/etc/school-meals/terminal.toml")
DEFAULT_DATA_DIR = Path("/var/lib/school-meals")  # on the writable data partition (see hardware_docs)


@dataclass(frozen=True, slots=True)
class TerminalConfig:
    server_url: str
    terminal_id: int
    school_id: int
    canteen_id: int
    data_dir: str
    key_file: str
    root_key_file: str
    timezone: str
    hardware: HardwareConfig = field(default_factory=HardwareConfig)

    def to_toml(self) -> str:
        d: dict[str, Any] = asdict(self)
        hw = d.pop("hardware")
        return tomli_w.dumps({"terminal": d, "hardware": hw})

    @classmethod
    def from_toml(cls, text: str) -> TerminalConfig:
        try:
            doc = tomllib.loads(text)
            return cls(**doc["terminal"], hardware=HardwareConfig.from_table(doc.get("hardware", {})))
        except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as e:
            raise ProvisioningError(
                Problem.CONFIG, f"config unreadable ({e})", "run `python -m provisioning enrol` again"
            ) from e


def write_config(path: Path, cfg: TerminalConfig) -> None:
    """Atomic: a power cut leaves the old config or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(cfg.to_toml())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_config(path: Path) -> TerminalConfig:
    try:
        return TerminalConfig.from_toml(path.read_text())
    except FileNotFoundError as e:
        raise ProvisioningError(Problem.CONFIG, f"no config at {path}", "enrol the terminal first") from e

"""The terminal's TOML config: provisioning writes it, the terminal core's own parser reads it.

There is one config type, `device.config.DeviceConfig`, and one reader, `device.config.load_config`; this
module only writes that format (tomllib has no writer), so what enrolment writes is exactly what
`python -m device run` starts from. A test reads every file written here back through the core's parser.
"""

from __future__ import annotations

import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import tomli_w

from device.config import ConfigError, DeviceConfig, Rules, load_config
from device.hw.config import HardwareConfig

from .errors import Problem, ProvisioningError

DEFAULT_CONFIG = Path("/etc/school-meals/terminal.toml")
DEFAULT_DATA_DIR = Path("/var/lib/school-meals")  # on the writable data partition (see hardware_docs)


def config_toml(cfg: DeviceConfig) -> str:
    """`[terminal]`, `[rules]` (only values that differ from the defaults) and `[hardware]` (always
    written in full, so the technician sees every pin the terminal will use)."""
    doc: dict[str, Any] = {
        "terminal": {
            "server_url": cfg.server_url,
            "terminal_id": cfg.terminal_id,
            "school_id": cfg.school_id,
            "canteen_id": cfg.canteen_id,
            "data_dir": str(cfg.data_dir),
            "key_file": str(cfg.key_file),
            "root_key_file": str(cfg.root_key_file),
            "timezone": cfg.timezone,
        }
    }
    defaults = Rules()
    rules = {f.name: getattr(cfg.rules, f.name) for f in fields(Rules)}
    changed = {k: v for k, v in rules.items() if v != getattr(defaults, k)}
    if changed:
        doc["rules"] = changed
    doc["hardware"] = asdict(cfg.hardware or HardwareConfig())
    return tomli_w.dumps(doc)


def write_config(path: Path, cfg: DeviceConfig) -> None:
    """Atomic: a power cut leaves the old config or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(config_toml(cfg))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_config(path: Path) -> DeviceConfig:
    if not path.exists():
        raise ProvisioningError(Problem.CONFIG, f"no config at {path}", "enrol the terminal first")
    try:
        return load_config(path)
    except ConfigError as e:
        raise ProvisioningError(
            Problem.CONFIG,
            f"config {path} unreadable ({e})",
            "fix the line it names, or run `python -m provisioning enrol` again",
        ) from e


def tuned_rules(path: Path) -> Rules:
    """The `[rules]` of a config already at `path` (kept on re-enrolment), else the defaults."""
    try:
        return load_config(path).rules if path.exists() else Rules()
    except ConfigError:
        return Rules()  # an unreadable old config is replaced whole

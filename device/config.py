"""The terminal's TOML config (tomllib): what provisioning writes, plus the serving rules.

```toml
[terminal]          # written by `python -m provisioning enrol`
server_url = "https://meals.example.kz"
terminal_id = 7
school_id = 1001
canteen_id = 1
data_dir = "/var/lib/school-meals"
key_file = "/var/lib/school-meals/device_key.pem"
root_key_file = "/var/lib/school-meals/root_key.pub"   # raw 32 bytes
timezone = "Asia/Almaty"

[rules]             # optional; every key has the default shown in `Rules`
token_leeway_s = 30
stale_grace_hours = 12

[hardware]          # device.hw.config.HardwareConfig
decoder = "zxing"

[kiosk]             # the staff's screen on http://127.0.0.1:<port>/ (docs/device.md)
enabled = true
port = 8088
```
Unknown keys are refused: a typo must not pass silently.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the drivers (and numpy) load only where hardware is used
    from .hw.config import HardwareConfig


class ConfigError(ValueError):
    """The config is missing, unreadable or holds a bad value; the message names which."""


@dataclass(frozen=True, slots=True)
class Rules:
    token_leeway_s: int = 30  # QR token and card credential windows (explicit; no library default)
    signed_object_leeway_s: int = 300  # trust list, bundle and key validity
    repeat_window_s: float = 10.0  # the same QR or card again within this is the same event
    stale_grace_hours: float = 12.0  # past the bundle's valid_until: serve with WARNING this long
    # Before valid_until: warn (ALLOWLIST_EXPIRING) this long. A day, so that the warning is on during the
    # service day before the list lapses: canteens are closed at night (bench/offline_month.py).
    allowlist_warning_hours: float = 24.0
    prune_after_days: int = 14  # uploaded records older than this are deleted
    upload_batch_size: int = 500
    sync_interval_s: float = 300.0
    retry_attempts: int = 5
    retry_base_s: float = 0.5
    retry_cap_s: float = 30.0
    disk_warning_bytes: int = 64 * 1024 * 1024  # WARNING below this much free space
    rtc: bool = False  # an RTC (DS3231) sets the system clock at boot: trust it when not behind the floor

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "bool":
                if not isinstance(value, bool):
                    raise ConfigError(f"[rules] {f.name} must be true or false")
            elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"[rules] {f.name} must be a number ≥ 0")
        if not 1 <= self.upload_batch_size <= 10_000:
            raise ConfigError("[rules] upload_batch_size must be 1..10000 (the batch format's cap)")

    @property
    def stale_grace_s(self) -> int:
        return int(self.stale_grace_hours * 3600)

    @property
    def allowlist_warning_s(self) -> int:
        return int(self.allowlist_warning_hours * 3600)


@dataclass(frozen=True, slots=True)
class KioskConfig:
    """The kiosk page: served on the loopback interface only, whether or not a screen is attached."""

    enabled: bool = True
    port: int = 8088

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ConfigError("[kiosk] enabled must be true or false")
        if type(self.port) is not int or not 1024 <= self.port <= 65535:
            raise ConfigError("[kiosk] port must be an integer 1024-65535 (an unprivileged port)")


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    server_url: str
    terminal_id: int
    school_id: int
    canteen_id: int
    data_dir: Path
    key_file: Path
    root_key_file: Path
    timezone: str = "Asia/Almaty"
    rules: Rules = field(default_factory=Rules)
    hardware: HardwareConfig | None = None  # None: not configured (simulated runs, tests); defaults on a Pi
    kiosk: KioskConfig = field(default_factory=KioskConfig)

    @property
    def journal_path(self) -> Path:
        return self.data_dir / "journal.sqlite3"

    @property
    def clock_state_path(self) -> Path:
        return self.data_dir / "trusted_time.json"


_TERMINAL_INT = ("terminal_id", "school_id", "canteen_id")
_TERMINAL_STR = ("server_url", "timezone")
_TERMINAL_PATH = ("data_dir", "key_file", "root_key_file")


def parse_config(text: str) -> DeviceConfig:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"not TOML: {e}") from e
    unknown = set(doc) - {"terminal", "rules", "hardware", "kiosk"}
    if unknown:
        raise ConfigError(f"unknown tables: {sorted(unknown)}")
    term = doc.get("terminal")
    if not isinstance(term, dict):
        raise ConfigError("no [terminal] table (enrol the terminal with `python -m provisioning`)")
    known = set(_TERMINAL_INT + _TERMINAL_STR + _TERMINAL_PATH)
    if set(term) - known:
        raise ConfigError(f"unknown [terminal] keys: {sorted(set(term) - known)}")
    missing = known - {"timezone"} - set(term)
    if missing:
        raise ConfigError(f"[terminal] lacks {sorted(missing)}")
    for k in _TERMINAL_INT:
        if type(term[k]) is not int or term[k] < 0:
            raise ConfigError(f"[terminal] {k} must be an integer ≥ 0")
    for k in _TERMINAL_STR + _TERMINAL_PATH:
        if k in term and not isinstance(term[k], str):
            raise ConfigError(f"[terminal] {k} must be a string")
    rules_table: dict[str, Any] = doc.get("rules", {})
    bad = set(rules_table) - {f.name for f in fields(Rules)}
    if bad:
        raise ConfigError(f"unknown [rules] keys: {sorted(bad)}")
    hardware = None
    if "hardware" in doc:
        from .hw.config import HardwareConfig

        try:
            hardware = HardwareConfig.from_table(doc["hardware"])
        except (ValueError, TypeError) as e:
            raise ConfigError(f"[hardware]: {e}") from e
    kiosk_table = doc.get("kiosk", {})
    if not isinstance(kiosk_table, dict) or set(kiosk_table) - {"enabled", "port"}:
        raise ConfigError("[kiosk] takes only `enabled` and `port`")
    return DeviceConfig(
        server_url=term["server_url"],
        terminal_id=term["terminal_id"],
        school_id=term["school_id"],
        canteen_id=term["canteen_id"],
        data_dir=Path(term["data_dir"]),
        key_file=Path(term["key_file"]),
        root_key_file=Path(term["root_key_file"]),
        timezone=term.get("timezone", "Asia/Almaty"),
        rules=Rules(**rules_table),
        hardware=hardware,
        kiosk=KioskConfig(**kiosk_table),
    )


def load_config(path: Path) -> DeviceConfig:
    try:
        return parse_config(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e}") from e

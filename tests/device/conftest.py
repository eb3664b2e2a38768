"""A provisioned terminal on a temp dir with a hand-moved clock and a recording indicator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from device.config import Rules
from device.sim import scenario
from device.sim.clock import ManualClock
from device.sim.indicator import PrintingIndicator
from device.terminal import Terminal
from shared_crypto import Bundle

DAY1 = dt.date(2026, 11, 23)  # a Monday
DAY2 = dt.date(2026, 11, 24)
T0 = scenario.unix_local(2026, 11, 23, 9, 0)  # 09:00 local, breakfast


@dataclass
class Rig:
    terminal: Terminal
    clock: ManualClock
    indicator: PrintingIndicator
    keys: scenario.Keys
    data_dir: Path

    def qr(self, voucher_id: int, **kw: object) -> str:
        return scenario.qr_text(self.keys, voucher_id, int(self.clock.wall()), **kw)  # type: ignore[arg-type]

    def reopen(self) -> Terminal:
        """The terminal process restarted (same boot unless the clock was rebooted)."""
        self.terminal.close()
        self.terminal = Terminal.from_config(self.terminal.cfg, clock=self.clock, indicator=self.indicator)
        return self.terminal


def default_bundle(**kw: object) -> Bundle:
    args: dict[str, object] = {
        "days": (DAY1, DAY2),
        "generated_at": T0 - 3600,
        "valid_until": T0 + 2 * 86_400,  # as the back end signs them: 48 h
    }
    args.update(kw)
    return scenario.bundle(**args)  # type: ignore[arg-type]


@pytest.fixture
def pi_like(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hardware pre-flight sees a Pi: its device nodes in a folder, picamera2 importable."""
    from device.hw import preflight

    pi = tmp_path / "pi-root"
    for node in ("dev/gpiochip0", "dev/serial0"):
        (pi / node).parent.mkdir(parents=True, exist_ok=True)
        (pi / node).touch()
    monkeypatch.setattr(preflight, "ROOT", pi)
    monkeypatch.setattr(preflight, "_importable", lambda module: True)


@pytest.fixture
def keys() -> scenario.Keys:
    return scenario.Keys()


MakeRig = Callable[..., Rig]


@pytest.fixture
def make_rig(tmp_path: Path, keys: scenario.Keys) -> Iterator[MakeRig]:
    rigs: list[Rig] = []

    def make(
        bundle: Bundle | None = None, *, rules: Rules | None = None, trusted: bool = True, now: float = T0
    ) -> Rig:
        data = tmp_path / f"term{len(rigs)}"
        cfg = scenario.provision(data, keys, bundle or default_bundle(), rules=rules)
        clock = ManualClock(now)
        indicator = PrintingIndicator(out=lambda _s: None)
        term = Terminal.from_config(cfg, clock=clock, indicator=indicator)
        if trusted:
            term.clock.set_trusted(now)
        rig = Rig(term, clock, indicator, keys, data)
        rigs.append(rig)
        return rig

    yield make
    for r in rigs:
        r.terminal.close()


@pytest.fixture
def rig(make_rig: MakeRig) -> Rig:
    return make_rig()

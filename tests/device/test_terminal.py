"""The Terminal's standing indicator state and faults, and the untrusted-clock path."""

from __future__ import annotations

from device.config import Rules
from device.interfaces import IndicatorState
from device.sim.backend import FakeBackend

from .conftest import T0, MakeRig, Rig, default_bundle


def test_a_healthy_terminal_rests_idle(rig: Rig) -> None:
    assert rig.terminal.faults() == [] and rig.terminal.standing() is IndicatorState.IDLE
    assert rig.terminal.present_qr(rig.qr(4)).served
    assert rig.indicator.history[-2:] == [IndicatorState.IDLE, IndicatorState.SERVED]
    assert rig.indicator.standing is IndicatorState.IDLE


def test_low_disk_warns_but_serves(make_rig: MakeRig) -> None:
    rig = make_rig(rules=Rules(disk_warning_bytes=2**62))
    assert "DISK_LOW" in rig.terminal.faults()
    assert rig.terminal.present_qr(rig.qr(4)).served
    assert rig.indicator.standing is IndicatorState.WARNING


def test_an_untrusted_clock_serves_and_journals_it_as_untrusted(rig: Rig) -> None:
    rig.clock.reboot(wall=T0 + 60)  # no RTC; the wall clock came up unverified but after the floor
    term = rig.reopen()
    assert "CLOCK_UNTRUSTED" in term.faults()
    v = term.present_qr(rig.qr(4))
    assert v.served
    rec = term.journal.records()[-1]
    assert not rec.wall_trusted and rec.boot_id == rig.clock.boot_id()
    assert rig.indicator.standing is IndicatorState.WARNING


def test_a_sync_clears_the_fault_of_a_terminal_without_allowlist(make_rig: MakeRig) -> None:
    rig = make_rig()
    (rig.data_dir / "allowlist.cose").unlink()
    term = rig.reopen()
    assert term.standing() is IndicatorState.FAULT and rig.indicator.standing is IndicatorState.FAULT
    fb = FakeBackend(rig.keys, now=lambda: T0)
    fb.set_bundle(default_bundle(sequence=2))
    assert term.sync_once(fb.client()).ok
    assert rig.indicator.standing is IndicatorState.IDLE
    assert term.present_qr(rig.qr(4)).served


def test_health_carries_the_faults(make_rig: MakeRig) -> None:
    rig = make_rig(rules=Rules(disk_warning_bytes=2**62))
    fb = FakeBackend(rig.keys, now=lambda: T0)
    fb.set_bundle(default_bundle(sequence=2))
    rig.terminal.sync_once(fb.client())
    health = fb.health[-1]
    assert health["faults"] == ["DISK_LOW"] and health["last_sync"] == T0
    assert isinstance(health["disk_free_bytes"], int) and health["clock_offset_s"] == 0


def test_a_driver_fault_warns_while_it_lasts(rig: Rig) -> None:
    reader_fault: list[str | None] = [None]
    rig.terminal.add_fault_source(lambda: reader_fault[0])
    assert rig.indicator.standing is IndicatorState.IDLE
    reader_fault[0] = "NFC_NO_ANSWER"
    rig.terminal.refresh_standing()
    assert rig.terminal.faults() == ["NFC_NO_ANSWER"]
    assert rig.indicator.standing is IndicatorState.WARNING  # QR serving goes on without the reader
    reader_fault[0] = None
    rig.terminal.refresh_standing()
    assert rig.indicator.standing is IndicatorState.IDLE

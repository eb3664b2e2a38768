"""Trusted time: signed anchors, the persisted floor, clocks that jump back, RTC, reboots."""

from __future__ import annotations

import json
from pathlib import Path

from device.clock import RTC_PLAUSIBLE_FROM_MS, SystemClock, TimeStatus, TrustedClock
from device.sim.clock import ManualClock

T = 1_795_000_000.0


def test_no_trusted_time_ever_is_unknown(tmp_path: Path) -> None:
    clock = TrustedClock(ManualClock(T), tmp_path / "t.json")
    r = clock.read()
    assert r.status is TimeStatus.UNKNOWN and not r.usable and r.wall_ms == int(T * 1000)


def test_a_signed_anchor_runs_on_the_monotonic_clock_not_the_wall_clock(tmp_path: Path) -> None:
    src = ManualClock(T)
    clock = TrustedClock(src, tmp_path / "t.json")
    clock.set_trusted(T + 500)  # the system clock was 500 s slow
    src.advance(10)
    src.set_wall(0)  # someone sets the wall clock to 1970: irrelevant while anchored
    r = clock.read()
    assert r.status is TimeStatus.TRUSTED and r.wall_ms == int((T + 510) * 1000)


def test_the_anchor_survives_a_process_restart_in_the_same_boot(tmp_path: Path) -> None:
    src = ManualClock(T)
    TrustedClock(src, tmp_path / "t.json").set_trusted(T + 500)
    src.advance(30)
    r = TrustedClock(src, tmp_path / "t.json").read()
    assert r.trusted and r.wall_ms == int((T + 530) * 1000)


def test_after_a_reboot_the_wall_clock_is_untrusted_and_never_behind_the_floor(tmp_path: Path) -> None:
    src = ManualClock(T)
    TrustedClock(src, tmp_path / "t.json").set_trusted(T)
    src.reboot(wall=T + 3600)  # no RTC: the clock came up from fake-hwclock or NTP, unverified
    clock = TrustedClock(src, tmp_path / "t.json")
    r = clock.read()
    assert r.status is TimeStatus.UNTRUSTED and r.usable and not r.trusted
    src.set_wall(T - 1)  # jumped back past the last trusted time
    assert clock.read().status is TimeStatus.UNKNOWN
    src.set_wall(T + 10)
    assert clock.read().status is TimeStatus.UNTRUSTED
    clock.set_trusted(T + 20)  # the next sync fixes it
    assert clock.read().status is TimeStatus.TRUSTED


def test_a_board_booting_at_1970_is_unknown(tmp_path: Path) -> None:
    src = ManualClock(T)
    TrustedClock(src, tmp_path / "t.json").set_trusted(T)
    src.reboot(wall=0)
    assert TrustedClock(src, tmp_path / "t.json").read().status is TimeStatus.UNKNOWN


def test_the_floor_follows_trusted_time_so_a_later_jump_back_is_caught(tmp_path: Path) -> None:
    src = ManualClock(T)
    clock = TrustedClock(src, tmp_path / "t.json", persist_interval_s=60)
    clock.set_trusted(T)
    src.advance(3600)
    assert clock.read().trusted
    assert clock.floor_ms == int((T + 3600) * 1000)
    assert json.loads((tmp_path / "t.json").read_text())["floor_ms"] == int(T * 1000)  # reads never write
    assert clock.persist_floor()  # the housekeeping timer does (the interval passed)
    saved = json.loads((tmp_path / "t.json").read_text())["floor_ms"]
    assert saved == int((T + 3600) * 1000)
    src.reboot(wall=T + 1800)  # behind the last trusted reading, though after the anchor
    assert TrustedClock(src, tmp_path / "t.json").read().status is TimeStatus.UNKNOWN


def test_persisting_is_rate_limited(tmp_path: Path) -> None:
    src = ManualClock(T)
    clock = TrustedClock(src, tmp_path / "t.json", persist_interval_s=60)
    clock.set_trusted(T)
    src.advance(5)
    clock.read()
    assert not clock.persist_floor()  # 5 s after the last write
    assert json.loads((tmp_path / "t.json").read_text())["floor_ms"] == int(T * 1000)
    src.advance(60)
    clock.read()
    assert clock.persist_floor() and not clock.persist_floor()  # written once; unchanged since
    assert json.loads((tmp_path / "t.json").read_text())["floor_ms"] == int((T + 65) * 1000)


def test_an_rtc_is_trusted_when_plausible_and_not_behind_the_floor(tmp_path: Path) -> None:
    src = ManualClock(T)
    rtc = TrustedClock(src, tmp_path / "t.json", rtc=True)
    assert rtc.read().status is TimeStatus.TRUSTED  # no floor yet, but a plausible date
    src.set_wall(RTC_PLAUSIBLE_FROM_MS / 1000 - 86_400)  # DS3231 with a flat cell: year 2000-ish
    fresh = TrustedClock(ManualClock(946_684_800), tmp_path / "other.json", rtc=True)
    assert fresh.read().status is TimeStatus.UNKNOWN
    src.set_wall(T - 100)  # went back past what it showed before
    assert rtc.read().status is TimeStatus.UNKNOWN


def test_corrupt_state_means_unknown_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "t.json").write_text("{not json")
    assert TrustedClock(ManualClock(T), tmp_path / "t.json").read().status is TimeStatus.UNKNOWN


def test_system_clock_reads_this_machine(tmp_path: Path) -> None:
    c = SystemClock()
    assert len(c.boot_id()) == 16 and c.wall() > 1.7e9
    a = c.monotonic_ns()
    assert c.monotonic_ns() >= a
    assert len(SystemClock(tmp_path / "missing").boot_id()) == 16

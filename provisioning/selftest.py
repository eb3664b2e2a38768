"""Hardware self-test: LED, buzzer, camera, NFC, clock and storage, printed as a pass/fail table.

Each check gets its device through a factory so the same code runs on the Pi and in tests (fakes at the
library boundary). Lights and sounds cannot check themselves, so the technician confirms them.
"""

from __future__ import annotations

import enum
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from device.hw.decoders import BytesDecoder
from device.hw.indicator import IndicatorState, LedBuzzerIndicator
from device.hw.nfc import Pn532Reader

from .progress import Progress
from .runner import Runner

SELFTEST_QR = b"SW1-SELFTEST"  # printed on the test card: hardware_docs/selftest_qr.png
MIN_FREE_BYTES = 1 << 30  # a school year of journal fits in far less; below this something else is wrong
MIN_WRITE_MB_S = 2.0  # a worn or fake SD card falls below this
SPEED_TEST_BYTES = 16 << 20


class Verdict(enum.StrEnum):
    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    verdict: Verdict
    detail: str
    fix: str = ""


class FrameReader(Protocol):
    def open(self) -> None: ...

    def read(self) -> npt.NDArray[np.uint8]: ...

    def close(self) -> None: ...


Ask = Callable[[str], bool]


@dataclass
class Rig:
    """How to reach each device; any factory may raise, which fails that check only."""

    indicator: Callable[[], LedBuzzerIndicator]
    camera: Callable[[], FrameReader]
    decoder: Callable[[], BytesDecoder]
    nfc: Callable[[], Pn532Reader]
    runner: Runner
    data_dir: Path
    root: Path = Path("/")
    ask: Ask = lambda question: input(f"{question} [y/n] ").strip().lower().startswith("y")
    camera_timeout_s: float = 10.0
    card_timeout_s: float = 15.0
    monotonic: Callable[[], float] = time.monotonic
    progress: Progress = field(default_factory=lambda: Progress(len(STEPS)))


def check_indicator(rig: Rig) -> list[Check]:
    try:
        ind = rig.indicator()
    except Exception as e:  # any driver error fails this check only, never the whole self-test
        fix = "check the wiring (hardware_docs/wiring.md) and that python3-lgpio is installed"
        return [Check("LED", Verdict.FAIL, str(e), fix), Check("buzzer", Verdict.FAIL, str(e), fix)]
    try:
        ind.show(IndicatorState.FAULT)  # three long beeps and a fast blink
        led = rig.ask("Is the LED blinking fast?")
        buzz = rig.ask("Did the buzzer beep three times?")
    finally:
        ind.close()
    return [
        Check(
            "LED",
            Verdict.PASS if led else Verdict.FAIL,
            "blinks" if led else "not seen",
            "" if led else "check LED polarity (long leg to the 220 Ω resistor, short leg to GND)",
        ),
        Check(
            "buzzer",
            Verdict.PASS if buzz else Verdict.FAIL,
            "beeps" if buzz else "not heard",
            "" if buzz else "check the transistor (emitter to GND) and that the buzzer is an active 5 V one",
        ),
    ]


def check_camera(rig: Rig) -> list[Check]:
    try:
        cam, decoder = rig.camera(), rig.decoder()
        cam.open()
    except Exception as e:
        return [
            Check("camera", Verdict.FAIL, str(e), "as the message says; then `rpicam-hello --list-cameras`")
        ]
    rig.progress.note(
        f"hold the printed test QR 10-15 cm in front of the camera (up to {rig.camera_timeout_s:.0f} s)"
    )
    deadline = rig.monotonic() + rig.camera_timeout_s
    frames = 0
    try:
        while rig.monotonic() < deadline:
            frame = cam.read()
            frames += 1
            if SELFTEST_QR in decoder.decode_bytes(frame):
                return [
                    Check(
                        "camera",
                        Verdict.PASS,
                        f"test QR read after {frames} frame(s), {frame.shape[1]}x{frame.shape[0]}",
                    )
                ]
    except Exception as e:
        return [
            Check("camera", Verdict.FAIL, f"after {frames} frames: {e}", "reseat the ribbon cable; reboot")
        ]
    finally:
        cam.close()
    return [
        Check(
            "camera",
            Verdict.FAIL,
            f"{frames} frames, no test QR",
            "check focus (10-20 cm), the lens film removed, lighting; see hardware_docs/camera.md",
        )
    ]


def check_nfc(rig: Rig) -> list[Check]:
    try:
        reader = rig.nfc()
        ic, ver, rev, _ = reader.firmware()
    except Exception as e:
        fix = "check wiring and the mode switches (UART: both off), `enable_uart=1`, console off the UART"
        return [Check("NFC reader", Verdict.FAIL, str(e), fix)]
    checks = [Check("NFC reader", Verdict.PASS, f"PN5{ic:02x} firmware {ver}.{rev}")]
    rig.progress.note(f"tap any card on the reader (up to {rig.card_timeout_s:.0f} s)")
    deadline = rig.monotonic() + rig.card_timeout_s
    while rig.monotonic() < deadline:
        read = reader.poll()
        if read is not None:
            extra = ", card credential present" if read.ndef else ""
            checks.append(Check("NFC card", Verdict.PASS, f"UID {read.uid.hex()}{extra}"))
            return checks
        if reader.fault is not None:
            checks.append(
                Check(
                    "NFC card",
                    Verdict.FAIL,
                    f"reader fault {reader.fault.value}",
                    "check the reader's wiring and power",
                )
            )
            return checks
        time.sleep(0.05)
    checks.append(
        Check("NFC card", Verdict.FAIL, "no card seen", "hold the card flat on the antenna, within 3 cm")
    )
    return checks


def check_clock(rig: Rig) -> list[Check]:
    rtc = rig.root / "sys/class/rtc/rtc0/name"
    if rtc.exists():
        rtc_check = Check("RTC", Verdict.PASS, rtc.read_text().strip())
    else:
        rtc_check = Check(
            "RTC",
            Verdict.WARN,
            "no RTC: after a power cut offline, the time is unknown until NTP",
            "fit a DS3231 and add `dtoverlay=i2c-rtc,ds3231` to /boot/firmware/config.txt",
        )
    done = rig.runner(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    if done.returncode == 0 and done.output.strip() == "yes":
        ntp = Check("NTP", Verdict.PASS, "synchronised")
    else:
        ntp = Check(
            "NTP",
            Verdict.FAIL,
            f"not synchronised ({' '.join(done.output.split()) or done.returncode})",
            "`timedatectl set-ntp true`; allow UDP 123 out, or set NTP= in /etc/systemd/timesyncd.conf",
        )
    return [rtc_check, ntp]


def check_storage(rig: Rig) -> list[Check]:
    rig.data_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(rig.data_dir).free
    space = Check(
        "disk space",
        Verdict.PASS if free >= MIN_FREE_BYTES else Verdict.FAIL,
        f"{free / 2**30:.1f} GiB free",
        "" if free >= MIN_FREE_BYTES else "use a larger SD card or clear the data partition",
    )
    probe = rig.data_dir / ".selftest-speed"
    block = os.urandom(1 << 20)
    t0 = time.perf_counter()
    try:
        with open(probe, "wb") as f:
            for _ in range(SPEED_TEST_BYTES // len(block)):
                f.write(block)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        return [space, Check("disk write", Verdict.FAIL, str(e), "is the data partition mounted read-write?")]
    finally:
        probe.unlink(missing_ok=True)
    mb_s = SPEED_TEST_BYTES / (1 << 20) / max(time.perf_counter() - t0, 1e-6)
    ok = mb_s >= MIN_WRITE_MB_S
    speed = Check(
        "disk write",
        Verdict.PASS if ok else Verdict.FAIL,
        f"{mb_s:.1f} MB/s with fsync",
        "" if ok else "replace the SD card (A1/A2 class, known brand)",
    )
    return [space, speed]


STEPS: tuple[tuple[str, Callable[[Rig], list[Check]]], ...] = (
    ("LED and buzzer", check_indicator),
    ("camera", check_camera),
    ("NFC reader", check_nfc),
    ("clock", check_clock),
    ("storage", check_storage),
)


def run_selftest(rig: Rig) -> list[Check]:
    results: list[Check] = []
    for what, check in STEPS:
        rig.progress.step(what)
        results += check(rig)
    return results


def table(results: list[Check]) -> str:
    w = max(len(r.name) for r in results)
    lines = [f"{'check':<{w}}  result  detail", "-" * (w + 40)]
    for r in results:
        lines.append(f"{r.name:<{w}}  {r.verdict.value:<6}  {r.detail}")
        if r.fix:
            lines.append(f"{'':<{w}}          fix: {r.fix}")
    failed = sum(r.verdict is Verdict.FAIL for r in results)
    lines.append("-" * (w + 40))
    lines.append("ALL PASSED" if not failed else f"{failed} FAILED")
    return "\n".join(lines)

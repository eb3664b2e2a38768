"""`python -m device`: run the terminal, on a Pi or simulated.

    python -m device setup-sim DIR [--pupils N] [--images K]   a demo school, config and QR images in DIR
    python -m device run --simulate --config DIR/terminal.toml --qr-dir DIR/qr [--trust-system-clock]
    python -m device run --simulate --config DIR/terminal.toml < taps.txt  (card UID hex[:NDEF hex] or SW1:… lines)
    python -m device run --config /etc/school-meals/terminal.toml   the real drivers from device/hw

Simulated runs print each indicator state and verdict; `--sync` adds the background sync against the
config's server_url (a real run always syncs).

"""

from __future__ import annotations

import argparse
import datetime as dt
import faulthandler
import logging
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from .config import ConfigError, DeviceConfig, load_config
from .interfaces import Indicator, IndicatorState, Verdict
from .journal import JournalError
from .serve import Heartbeat, describe, serve
from .sim.card_reader import parse_card_line
from .sim.indicator import PrintingIndicator
from .systemd import Notifier, ServiceWatchdog, watchdog_period_s
from .terminal import Terminal

if TYPE_CHECKING:
    from .kiosk.server import KioskServer

log = logging.getLogger("device")
HTTP_TIMEOUT_S = 15.0


def _client(cfg: DeviceConfig) -> httpx.Client:
    return httpx.Client(base_url=cfg.server_url, timeout=HTTP_TIMEOUT_S)


def _report(v: Verdict) -> None:
    print(describe(v), flush=True)


def _serve_typed(terminal: Terminal, lines: Iterable[str]) -> None:
    """Typed lines: `SW1:…` is a QR text; anything else a card (UID hex, optionally `:` NDEF hex)."""
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if text.startswith("SW1:"):
            _report(terminal.present_qr(text))
            continue
        card = parse_card_line(text)
        if card is None:
            print(f"[input] neither a card UID (hex, 4/7/10 bytes) nor a SW1: code: {text!r}", flush=True)
            continue
        _report(terminal.present_card(card))


def _open_terminal(cfg: DeviceConfig, indicator: Indicator) -> Terminal | None:
    """The terminal, or None after saying why it cannot start (FAULT on the indicator, the fix on stderr)."""
    try:
        return Terminal.from_config(cfg, indicator=indicator)
    except JournalError as e:
        problem = f"journal {cfg.journal_path} unusable ({e}); free space on the data partition"
    except (OSError, ValueError) as e:
        problem = f"keys unreadable ({e}); enrol the terminal again with `python -m provisioning`"
    indicator.show(IndicatorState.FAULT)
    print(f"error: {problem}", file=sys.stderr)
    return None


def run_simulated(cfg: DeviceConfig, qr_dir: Path | None, *, sync: bool, kiosk: bool = False) -> int:
    from .hw.decoders import DecoderUnavailable, make_decoder
    from .sim.camera import FolderCamera

    indicator = PrintingIndicator()
    terminal = _open_terminal(cfg, indicator)
    if terminal is None:
        return 1
    screen = start_kiosk(cfg, terminal) if kiosk else None
    if screen is not None:
        terminal.start_housekeeping()
        print(f"[kiosk] {screen.url}", flush=True)
    try:
        if sync:
            terminal.start_background_sync(lambda: _client(cfg))
        stop = threading.Event()
        if qr_dir is not None:
            try:
                decoder = make_decoder(cfg.hardware.decoder if cfg.hardware else "zxing")
                camera = FolderCamera(qr_dir)
            except (DecoderUnavailable, FileNotFoundError) as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            serve(terminal, camera=camera, decoder=decoder, reader=None, stop=stop, report=_report)
        else:
            _serve_typed(terminal, sys.stdin)
        print(f"[terminal] standing {terminal.standing().value}; faults {terminal.faults()}")
        return 0
    finally:
        if screen is not None:
            screen.stop()
        terminal.close()


def run_hardware(cfg: DeviceConfig) -> int:
    from .hw import preflight
    from .hw.config import HardwareConfig, build

    wiring = cfg.hardware or HardwareConfig()
    if (missing := preflight.problem(wiring)) is not None:
        print(missing, file=sys.stderr)
        return 3
    if not faulthandler.is_enabled():  # a watchdog kill is SIGABRT: each thread's stack goes to the journal
        faulthandler.enable()
    try:
        hw = build(wiring)
    except Exception as e:  # a driver that will not start (pin busy, library too old): one line, not a trace
        print(f"error: the terminal's hardware did not start: {type(e).__name__}: {e}", file=sys.stderr)
        return 3
    terminal = _open_terminal(cfg, hw.indicator)
    if terminal is None:
        hw.camera.close()
        return 1
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    nfc = hw.nfc
    terminal.add_fault_source(lambda: f"NFC_{nfc.fault.value}" if nfc.fault is not None else None)
    # Every second: faults (a reader fault and its end show within a second; QR serving goes on), the
    # clock floor, the screen's status and day count.
    terminal.start_housekeeping()
    kiosk = start_kiosk(cfg, terminal)
    terminal.start_background_sync(lambda: _client(cfg))
    # systemd (Type=notify, WatchdogSec=): ready once serving runs; pinged only while both loops move.
    heartbeat = Heartbeat()
    watchdog = ServiceWatchdog(
        Notifier.from_env(),
        watchdog_period_s(os.environ, os.getpid()),
        stalled=heartbeat.stalled,
        status=lambda: _service_status(terminal),
    )
    try:
        serve(
            terminal,
            camera=hw.camera,
            decoder=hw.decoder,
            reader=hw.nfc,
            stop=stop,
            report=_log_verdict,
            heartbeat=heartbeat,
            started=watchdog.start,
        )
    finally:
        if kiosk is not None:
            kiosk.stop()
        watchdog.stop()
        watchdog.notifier.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        terminal.close()
        hw.camera.close()
        hw.indicator.close()
    return 0


def _service_status(terminal: Terminal) -> str:
    faults = terminal.faults()
    return f"standing {terminal.standing().value}; faults {', '.join(faults) if faults else 'none'}"


def start_kiosk(cfg: DeviceConfig, terminal: Terminal) -> KioskServer | None:
    """The staff's screen on the loopback interface, when configured. A port already taken costs the
    screen, never serving: the LED and buzzer carry on alone."""
    if not cfg.kiosk.enabled:
        return None
    from .kiosk.server import KioskServer

    try:
        kiosk = KioskServer(terminal.board, port=cfg.kiosk.port)
    except OSError as e:
        log.error(
            "kiosk page not served on port %d (%s); serving goes on without the screen", cfg.kiosk.port, e
        )
        return None
    kiosk.start()
    return kiosk


def _log_verdict(v: Verdict) -> None:
    log.info("%s", describe(v))


def setup_sim(out: Path, pupils: int, images: int) -> int:
    import numpy as np
    from PIL import Image

    from shared_crypto import MealSlot

    from .hw.testimages import Distortion, render
    from .sim import scenario

    out = out.resolve()  # the config holds absolute paths: the terminal then runs from any folder
    keys = scenario.Keys()
    now = int(time.time())
    today = dt.datetime.fromtimestamp(now + scenario.KZ_OFFSET_MIN * 60, dt.UTC).date()
    days = [today + dt.timedelta(days=i) for i in range(7)]
    # All-day slot so the demo works at any hour; a real calendar has breakfast and lunch.
    cal = scenario.school_calendar(days, slots=(MealSlot(1, 0, 1440),))
    bundle = scenario.bundle(days=days, cal=cal, generated_at=now, valid_until=now + 7 * 86_400, n=pupils)
    cfg = scenario.provision(out / "data", keys, bundle)
    cfg = replace(cfg, rules=replace(cfg.rules, rtc=True))  # no back end to ask: believe this host's clock
    config = out / "terminal.toml"
    config.write_text(scenario.config_toml(cfg))
    qr = out / "qr"
    qr.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    for i in range(images):
        voucher = 1 + i % pupils
        text = scenario.qr_text(keys, voucher, now, ttl=7 * 86_400)
        frame = render(text, Distortion.CLEAN if i % 2 else Distortion.PERSPECTIVE, rng)
        Image.fromarray(frame).save(qr / f"{i:03d}-voucher{voucher}.png")
    taps = [scenario.card_uid(2).hex(), scenario.card_uid(2).hex(), "01020304"]
    (out / "taps.txt").write_text("\n".join(taps) + "\n")
    print(f"demo school {scenario.SCHOOL_ID} with {pupils} pupils in {out}; {images} QR images in {qr}")
    # This very interpreter (the venv's), absolute paths, shell-quoted: the lines run as printed, anywhere.
    run = f"{shlex.quote(sys.executable)} -m device run --simulate --config {shlex.quote(str(config))}"
    print(f"  {run} --qr-dir {shlex.quote(str(qr))}")
    print(f"  {run} < {shlex.quote(str(out / 'taps.txt'))}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m device", description="School-meals canteen terminal")
    sub = p.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="serve meals")
    run.add_argument("--config", type=Path, required=True)
    run.add_argument("--simulate", action="store_true", help="QR images from a folder or taps from stdin")
    run.add_argument("--qr-dir", type=Path, help="with --simulate: serve the QR images in this folder")
    run.add_argument("--sync", action="store_true", help="with --simulate: sync with the config's server")
    run.add_argument(
        "--kiosk", action="store_true", help="with --simulate: serve the staff's screen ([kiosk] port)"
    )
    run.add_argument(
        "--trust-system-clock", action="store_true", help="with --simulate: treat this host's clock as an RTC"
    )
    setup = sub.add_parser("setup-sim", help="make a demo school, config and QR images for --simulate")
    setup.add_argument("dir", type=Path)
    setup.add_argument("--pupils", type=int, default=20)
    setup.add_argument("--images", type=int, default=6)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.cmd == "setup-sim":
        return setup_sim(args.dir, args.pupils, args.images)
    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not args.simulate:
        if args.qr_dir or args.sync or args.trust_system_clock or args.kiosk:
            p.error("--qr-dir, --sync, --kiosk and --trust-system-clock go with --simulate")
        return run_hardware(cfg)
    if args.trust_system_clock:
        cfg = replace(cfg, rules=replace(cfg.rules, rtc=True))
    return run_simulated(cfg, args.qr_dir, sync=args.sync, kiosk=args.kiosk)


if __name__ == "__main__":
    raise SystemExit(main())

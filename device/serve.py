"""The serving loop: camera frames and card taps into the terminal, one thread per input.

The camera thread reads frames through QrScanner (one result per code shown); the card thread polls
the reader. Both call the Terminal, which serialises decisions. The same loop runs the real drivers
and the simulated ones; with the simulated ones it ends when both inputs have run out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .hw.camera import CameraError
from .hw.decoders import BytesDecoder, as_text
from .hw.scanner import QrScanner
from .interfaces import CardReader, FrameSource, Verdict
from .terminal import Terminal

log = logging.getLogger(__name__)
IDLE_WAIT_S = 0.02  # between polls of a reader that answered at once (faulted or simulated)
CAMERA_RETRY_S = 1.0  # after a camera fault, before the next frame
CAMERA_LOOP, CARD_LOOP = "camera", "nfc"  # the loops' names in Heartbeat and in the thread names


class Heartbeat:
    """Iteration counts of the serving loops, for the service watchdog: a loop that stops counting has
    hung (a driver call that never returns, a journal write stuck on a dying SD card) or died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._checked: dict[str, int] = {}

    def register(self, loop: str) -> None:
        with self._lock:
            self._counts[loop] = 0
            self._checked[loop] = 0

    def beat(self, loop: str) -> None:
        with self._lock:
            self._counts[loop] += 1

    def stalled(self) -> list[str]:
        """The registered loops that did not beat since the previous call (all of them before any
        registers: nothing serves yet)."""
        with self._lock:
            if not self._counts:
                return ["no serving loop"]
            out = [loop for loop, n in self._counts.items() if n == self._checked[loop]]
            self._checked = dict(self._counts)
            return out


def describe(v: Verdict) -> str:
    who = f' "{v.display}"' if v.display else ""
    where = f" day {v.day} slot {v.slot}" if v.slot is not None else ""
    what = "SERVE" if v.served else f"REFUSE {v.reason.value if v.reason else ''}"
    extra = " (re-shown)" if v.repeat else ""
    voucher = f" voucher {v.voucher_id}" if v.voucher_id is not None else ""
    return f"[verdict] {what}{voucher}{who}{where} seq {v.seq}{extra}"


def serve(
    terminal: Terminal,
    *,
    camera: FrameSource | None,
    decoder: BytesDecoder | None,
    reader: CardReader | None,
    stop: threading.Event,
    report: Callable[[Verdict], None],
    reader_done: Callable[[], bool] = lambda: False,
    heartbeat: Heartbeat | None = None,
    started: Callable[[], None] = lambda: None,
) -> None:
    """Serve until `stop` is set, or until every input has run out (a camera raising StopIteration,
    a reader for which `reader_done()` turns true). Each loop beats `heartbeat` once an iteration;
    `started` is called once the loops run."""
    beats = heartbeat or Heartbeat()
    threads = []
    if camera is not None and decoder is not None:
        scanner = QrScanner(camera, decoder)
        beats.register(CAMERA_LOOP)

        def camera_loop() -> None:
            while not stop.is_set():
                beats.beat(CAMERA_LOOP)
                try:
                    payload = scanner.scan()
                    if payload is not None:
                        report(terminal.present_qr(as_text(payload)))
                except StopIteration:
                    return
                except CameraError as e:
                    log.error("camera: %s", e)
                    stop.wait(CAMERA_RETRY_S)
                except Exception:  # a driver bug must not end QR serving for the day
                    log.exception("camera loop")
                    stop.wait(CAMERA_RETRY_S)

        threads.append(threading.Thread(target=camera_loop, name=CAMERA_LOOP, daemon=True))
    if reader is not None:
        beats.register(CARD_LOOP)

        def card_loop() -> None:
            while not stop.is_set() and not reader_done():
                beats.beat(CARD_LOOP)
                try:
                    card = reader.poll()
                    if card is not None:
                        report(terminal.present_card(card))
                        continue
                except Exception:  # as above, for card serving
                    log.exception("card loop")
                stop.wait(IDLE_WAIT_S)

        threads.append(threading.Thread(target=card_loop, name=CARD_LOOP, daemon=True))
    for t in threads:
        t.start()
    started()
    for t in threads:
        t.join()

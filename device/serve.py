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
) -> None:
    """Serve until `stop` is set, or until every input has run out (a camera raising StopIteration,
    a reader for which `reader_done()` turns true)."""
    threads = []
    if camera is not None and decoder is not None:
        scanner = QrScanner(camera, decoder)

        def camera_loop() -> None:
            while not stop.is_set():
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

        threads.append(threading.Thread(target=camera_loop, name="camera", daemon=True))
    if reader is not None:

        def card_loop() -> None:
            while not stop.is_set() and not reader_done():
                try:
                    card = reader.poll()
                    if card is not None:
                        report(terminal.present_card(card))
                        continue
                except Exception:  # as above, for card serving
                    log.exception("card loop")
                stop.wait(IDLE_WAIT_S)

        threads.append(threading.Thread(target=card_loop, name="nfc", daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join()

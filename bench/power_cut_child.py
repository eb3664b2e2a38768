"""The process a power-cut run kills: a simulated terminal serving through the real serving loop.

`python -m bench.power_cut_child DATA_DIR FIRST COUNT` serves vouchers FIRST..FIRST+COUNT-1: QR codes from
a camera twin (each frame shows the next voucher's freshly issued token; the decoder twin hands back its
text) and, every tenth voucher, that pupil's card on the reader twin, both threads at once as on the Pi,
with the housekeeping timer and the background checkpointer running. It prints `ACK <event id hex>`
only once the terminal returned SERVE, i.e. after the journal commit.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from device.config import DeviceConfig
from device.hw.decoders import DecoderName
from device.interfaces import CardRead, Verdict
from device.serve import serve
from device.sim import scenario
from device.sim.indicator import PrintingIndicator
from device.terminal import Terminal
from shared_crypto import SigningKey, VoucherToken, issue_qr_text

CARD_EVERY = 10  # even vouchers: their cards are registered by UID in the demo allowlist


class TokenCamera:
    """Frame i stands for voucher i's pass; StopIteration once every voucher was shown."""

    def __init__(self, vouchers: list[int]) -> None:
        self._left = list(vouchers)

    def read(self) -> npt.NDArray[np.uint8]:
        if not self._left:
            raise StopIteration
        return np.full((1, 1), self._left.pop(0) % 256, np.uint8)


class TokenDecoder:
    """Decodes a TokenCamera frame into that voucher's QR text (the bytes a real decoder returns)."""

    name = DecoderName.ZXING

    def __init__(self, issuer: SigningKey, school_id: int, vouchers: list[int]) -> None:
        self._issuer, self._school, self._left = issuer, school_id, list(vouchers)

    def decode_bytes(self, frame: npt.NDArray[np.uint8]) -> list[bytes]:
        v = self._left.pop(0)
        now = int(time.time())
        return [
            issue_qr_text(self._issuer, VoucherToken(v, self._school, 1, 0, now - 60, now + 600)).encode()
        ]


class CardTaps:
    def __init__(self, vouchers: list[int]) -> None:
        self.left = [CardRead(scenario.card_uid(v), None) for v in vouchers]

    def poll(self) -> CardRead | None:
        return self.left.pop(0) if self.left else None


def main(argv: list[str]) -> int:
    data_dir, first, count = Path(argv[1]), int(argv[2]), int(argv[3])
    cfg = DeviceConfig(
        server_url="http://unused.test",
        terminal_id=7,
        school_id=scenario.SCHOOL_ID,
        canteen_id=1,
        data_dir=data_dir,
        key_file=data_dir / "device_key.pem",
        root_key_file=data_dir / "root_key.pub",
    )
    issuer = SigningKey.from_seed((data_dir / "issuer.seed").read_bytes())
    term = Terminal.from_config(cfg, indicator=PrintingIndicator(out=lambda _s: None))
    term.clock.set_trusted(time.time())
    term.start_housekeeping(0.05)  # often, so kills land during its floor writes and probes too
    vouchers = list(range(first, first + count))
    qr = [v for v in vouchers if v % CARD_EVERY]
    cards = CardTaps([v for v in vouchers if not v % CARD_EVERY])
    lock = threading.Lock()

    def report(v: Verdict) -> None:
        if v.served and not v.repeat:
            assert v.event_id is not None
            with lock:
                sys.stdout.write(f"ACK {v.event_id.hex()}\n")
                sys.stdout.flush()

    sys.stdout.write("READY\n")
    sys.stdout.flush()
    serve(
        term,
        camera=TokenCamera(qr),
        decoder=TokenDecoder(issuer, cfg.school_id, qr),
        reader=cards,
        stop=threading.Event(),
        report=report,
        reader_done=lambda: not cards.left,
    )
    term.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

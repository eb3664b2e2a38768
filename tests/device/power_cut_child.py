"""The process the power-cut test kills: a terminal serving QR codes as fast as it can.

`python -m tests.device.power_cut_child DATA_DIR FIRST COUNT SCHOOL_ID` serves vouchers FIRST..FIRST+COUNT-1 and
prints `ACK <event id hex>` only after the terminal returned SERVE, i.e. after the journal commit.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from device.config import DeviceConfig
from device.sim.indicator import PrintingIndicator
from device.terminal import Terminal
from shared_crypto import SigningKey, VoucherToken, issue_qr_text


def main(argv: list[str]) -> int:
    data_dir, first, count, school_id = Path(argv[1]), int(argv[2]), int(argv[3]), int(argv[4])
    cfg = DeviceConfig(
        server_url="http://unused.test",
        terminal_id=7,
        school_id=school_id,
        canteen_id=1,
        data_dir=data_dir,
        key_file=data_dir / "device_key.pem",
        root_key_file=data_dir / "root_key.pub",
    )
    issuer = SigningKey.from_seed((data_dir / "issuer.seed").read_bytes())
    term = Terminal.from_config(cfg, indicator=PrintingIndicator(out=lambda _s: None))
    term.clock.set_trusted(time.time())
    out = sys.stdout
    out.write("READY\n")
    out.flush()
    for v in range(first, first + count):
        now = int(time.time())
        verdict = term.present_qr(
            issue_qr_text(issuer, VoucherToken(v, cfg.school_id, 1, 0, now - 60, now + 600))
        )
        if verdict.served:
            assert verdict.event_id is not None
            out.write(f"ACK {verdict.event_id.hex()}\n")
            out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

"""Random taps, held cards, wobbles, corrupted frames, hung chips and unplugged ports, seeded: the reader
must never raise, must report each tap exactly once, and must always come back."""

import random

from adafruit_pn532.uart import PN532_UART

from device.hw import ndef
from device.hw.fake_pn532 import FakeMifareClassic, FakeNtag, FakePn532Serial
from device.hw.nfc import Pn532Reader

STEPS = 400


def ntag(uid: bytes, payload: bytes) -> FakeNtag:
    tag = FakeNtag(uid)
    data = ndef.encode_tlv(ndef.encode_record(payload))
    data += b"\x00" * (-len(data) % 4)
    for i in range(0, len(data), 4):
        tag.pages[4 + i // 4][:] = data[i : i + 4]
    return tag


def test_random_taps_and_faults() -> None:
    rng = random.Random(20240301)
    port = FakePn532Serial()
    now = [0.0]
    faults: list[str] = []
    reader = Pn532Reader(
        lambda: PN532_UART(port),
        poll_timeout_s=0.005,
        io_timeout_s=0.005,
        release_s=0.6,
        retry_s=1.0,
        monotonic=lambda: now[0],
        on_fault=lambda f, d: faults.append(f.value),
    )
    cards = [ntag(bytes([4, i, 2, 3, 4, 5, 6]), bytes([i]) * 120) for i in range(3)] + [
        FakeMifareClassic(bytes([9, i, 9, 9])) for i in range(2)
    ]
    taps = 0
    reads = 0
    broken_until = -1.0
    for _ in range(STEPS):
        # a tap: card comes, stays a few polls (held), goes away long enough to count as a new tap
        card = rng.choice(cards)
        port.card = card
        taps += 1
        got = []
        fault_now = rng.random() < 0.15
        if fault_now:
            kind = rng.choice(["corrupt", "corrupt_read", "silent", "unplug"])
            if kind == "corrupt":
                port.corrupt_next = 1
            elif kind == "corrupt_read":
                port.corrupt_command = 0x40  # mid-read (no effect on a MIFARE Classic: nothing is read)
            elif kind == "silent":
                port.silent = True
            else:
                port.unplugged = True
            broken_until = now[0] + 0.3
        for _ in range(rng.randint(2, 5)):
            if now[0] >= broken_until:
                port.silent = port.unplugged = False
            r = reader.poll()
            if r is not None:
                got.append(r)
            now[0] += 0.25
        port.silent = port.unplugged = False
        port.corrupt_command = None
        # keep the card on until it has been read (the pupil waits for the beep)
        for _ in range(20):
            if got:
                break
            r = reader.poll()
            if r is not None:
                got.append(r)
            now[0] += 0.25
        assert len(got) == 1, (taps, got)
        read = got[0]
        assert read.uid == card.uid
        if isinstance(card, FakeNtag):
            assert read.ndef == bytes([card.uid[1]]) * 120
        else:
            assert read.ndef is None
        reads += 1
        port.card = None
        for _ in range(4):  # away: 1 s > release_s
            assert reader.poll() is None
            now[0] += 0.25
    assert reads == taps == STEPS
    assert reader.fault is None
    assert faults and reader.resets == len(faults)  # every fault was followed by a reset that worked

"""A serial port with a PN532 behind it: speaks the chip's UART frames so adafruit_pn532 runs unmodified.

It checks what the host sends (preamble, start code, length and data checksums) exactly as the chip
does, answers with an ACK and a checksummed response frame, and models the cards in its field: NTAG21x
(READ 0x30 / WRITE 0xA2 pages) and MIFARE Classic (UID only, authentication answers OK). Faults can be
injected: silence, corrupted frames, or an unplugged port that raises on write.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACK = b"\x00\x00\xff\x00\xff\x00"
NTAG215_PAGES = 135
NTAG215_USER_PAGES = range(4, 130)  # 504 user bytes
FIRMWARE = bytes([0x32, 0x01, 0x06, 0x07])  # PN532, v1.6, supports ISO14443A/B and ISO18092


@dataclass
class FakeNtag:
    """An NTAG215 as the reader sees it: 7-byte UID, capability container in page 3, user pages 4-129."""

    uid: bytes
    pages: list[bytearray] = field(default_factory=list)
    write_fails_at: int | None = None  # page whose write the tag NAKs (card pulled away mid-write)

    def __post_init__(self) -> None:
        if len(self.uid) != 7:
            raise ValueError("NTAG UIDs are 7 bytes")
        if not self.pages:
            self.pages = [bytearray(4) for _ in range(NTAG215_PAGES)]
            self.pages[0][:3] = self.uid[:3]
            self.pages[1][:] = self.uid[3:7]
            self.pages[3][:] = b"\xe1\x10\x3e\x00"  # NDEF, v1.0, 0x3e*8 = 496 bytes data area, read/write
            self.pages[4][:] = b"\x03\x00\xfe\x00"  # empty NDEF message + terminator, as shipped

    sak = 0x00
    atqa = b"\x00\x44"

    def user_bytes(self) -> bytes:
        return b"".join(bytes(self.pages[p]) for p in NTAG215_USER_PAGES)


@dataclass
class FakeMifareClassic:
    uid: bytes
    sak = 0x08
    atqa = b"\x00\x04"

    def __post_init__(self) -> None:
        if len(self.uid) != 4:
            raise ValueError("MIFARE Classic 1K UIDs here are 4 bytes")


Card = FakeNtag | FakeMifareClassic


class FakePn532Serial:
    """Duck-types the bits of pyserial's Serial that adafruit_pn532.uart uses: write, read, in_waiting,
    reset_input_buffer."""

    def __init__(self) -> None:
        self.card: Card | None = None
        self._out = bytearray()
        self.awake = False
        self.silent = False  # chip hung: accepts frames, answers nothing
        self.corrupt_next = 0  # responses whose checksum gets broken
        self.corrupt_command: int | None = None  # break the next response to this command code, once
        self.unplugged = False  # USB adapter gone: every call raises OSError, like pyserial's SerialException
        self.commands: list[int] = []  # command codes received, in order, for tests
        self.bad_frames = 0  # frames the chip refused (bad checksum)
        self.wakeups = 0
        self.passive_retries = 0xFF  # RFConfiguration MxRtyPassiveActivation; 0xFF = wait for a card forever

    # --- the pyserial surface -------------------------------------------------------------------------
    @property
    def in_waiting(self) -> int:
        self._check_port()
        return len(self._out)

    def reset_input_buffer(self) -> None:
        self._check_port()
        self._out.clear()

    def read(self, size: int = 1) -> bytes:
        self._check_port()
        chunk = bytes(self._out[:size])
        del self._out[:size]
        return chunk

    def write(self, data: bytes) -> int:
        self._check_port()
        buf = bytes(data)
        if buf.startswith(b"\x55\x55"):  # HSU wake-up sequence
            self.awake = True
            self.wakeups += 1
            buf = buf.lstrip(b"\x55").lstrip(b"\x00")
            if not buf:
                return len(data)
            buf = b"\x00\x00" + buf
        if self.awake and not self.silent:
            self._handle(buf)
        return len(data)

    def _check_port(self) -> None:
        if self.unplugged:
            raise OSError(5, "Input/output error: serial port gone")

    # --- the chip ---------------------------------------------------------------------------------------
    def _handle(self, frame: bytes) -> None:
        start = frame.find(b"\x00\xff")
        if start < 0 or len(frame) < start + 5:
            self.bad_frames += 1
            return
        length, lcs = frame[start + 2], frame[start + 3]
        body = frame[start + 4 : start + 4 + length]
        if (length + lcs) & 0xFF or len(body) != length or len(frame) < start + 5 + length:
            self.bad_frames += 1
            return
        if (sum(body) + frame[start + 4 + length]) & 0xFF:
            self.bad_frames += 1
            return
        if body[0] != 0xD4:
            self.bad_frames += 1
            return
        command, params = body[1], body[2:]
        self.commands.append(command)
        self._out += ACK
        answer = self._answer(command, params)
        if answer is not None:
            if command == self.corrupt_command:
                self.corrupt_command = None
                self.corrupt_next += 1
            self._out += self._frame(bytes([0xD5, command + 1]) + answer)

    def _answer(self, command: int, params: bytes) -> bytes | None:
        match command:
            case 0x02:  # GetFirmwareVersion
                return FIRMWARE
            case 0x14:  # SAMConfiguration
                return b""
            case 0x32:  # RFConfiguration
                if len(params) == 4 and params[0] == 0x05:
                    self.passive_retries = params[3]
                return b""
            case 0x4A:  # InListPassiveTarget: with retries limited, "0 targets"; else silent until a card
                if self.card is None:
                    return None if self.passive_retries == 0xFF else b"\x00"
                c = self.card
                return bytes([1, 1]) + c.atqa + bytes([c.sak, len(c.uid)]) + c.uid
            case 0x40:  # InDataExchange
                return self._exchange(params)
            case _:
                return b"\x27"  # "command not acceptable in this context"

    def _exchange(self, params: bytes) -> bytes:
        card = self.card
        if card is None or len(params) < 2:
            return b"\x01"  # timeout: no target
        op = params[1]
        if isinstance(card, FakeNtag):
            if op == 0x30 and len(params) == 3:  # READ: 4 pages from the given one, wrapping like the chip
                page = params[2]
                if page >= NTAG215_PAGES:
                    return b"\x01"
                return b"\x00" + b"".join(bytes(card.pages[(page + k) % NTAG215_PAGES]) for k in range(4))
            if op == 0xA2 and len(params) == 7:  # WRITE one page
                page = params[2]
                if page not in NTAG215_USER_PAGES or page == card.write_fails_at:
                    return b"\x01"
                card.pages[page][:] = params[3:7]
                return b"\x00"
            return b"\x01"
        if op in (0x60, 0x61):  # MIFARE Classic authenticate: default keys accepted
            return b"\x00"
        return b"\x14"  # MIFARE authentication error

    def _frame(self, data: bytes) -> bytes:
        length = len(data)
        dcs = (-sum(data)) & 0xFF
        if self.corrupt_next > 0:
            self.corrupt_next -= 1
            dcs ^= 0x5A
        return b"\x00\x00\xff" + bytes([length, (-length) & 0xFF]) + data + bytes([dcs, 0x00])

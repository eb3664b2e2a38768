"""PN532 NFC reader over UART (default), I2C or SPI, through adafruit-circuitpython-pn532.

The PN532 object is built by a factory, so tests hand in a fake serial port (device.hw.fake_pn532) and a
fault is recovered from by building it afresh (which resets and wakes the chip). One tap is one read: a
card that stays in the field is reported once, and again only after it has been away for `release_s`.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from . import ndef

log = logging.getLogger(__name__)

_IN_LIST_PASSIVE_TARGET = 0x4A
_RF_CONFIGURATION = 0x32
# RFConfiguration item 5: MxRtyATR, MxRtyPSL, MxRtyPassiveActivation. A few activation retries (~10 ms
# each) instead of the default "forever", so InListPassiveTarget answers "no card" instead of hanging.
_MAX_RETRIES = bytes([0x05, 0xFF, 0x01, 0x02])
_IN_DATA_EXCHANGE = 0x40
_NTAG_READ, _NTAG_WRITE = 0x30, 0xA2
_FIRST_USER_PAGE = 4
_MAX_USER_BYTES = 888  # NTAG216; the capability container says how much this tag really has


class CardKind(enum.StrEnum):
    NTAG = "ntag"  # NTAG21x / Ultralight family (SAK 0x00): may carry a card credential
    MIFARE_CLASSIC = "mifare_classic"  # SAK 0x08 / 0x18: UID only, registered in the allowlist
    OTHER = "other"


class NfcFault(enum.StrEnum):
    """Why the reader stopped answering; reported once per fault, then the reader resets itself."""

    TRANSPORT = "TRANSPORT"  # port or bus error (adapter unplugged, I/O error)
    PROTOCOL = "PROTOCOL"  # bad ACK, checksum or unexpected response frame
    NO_FIRMWARE = "NO_FIRMWARE"  # the chip did not answer GetFirmwareVersion after a reset
    NO_ANSWER = "NO_ANSWER"  # a poll got no answer (the library turns a failed write into silence too)


@dataclass(frozen=True, slots=True)
class Tag:
    uid: bytes
    kind: CardKind
    sak: int


@dataclass(frozen=True, slots=True)
class CardRead:
    uid: bytes
    ndef: bytes | None  # the card-credential record payload, if the card carries one


class Pn532Like(Protocol):
    """What we use of adafruit_pn532.PN532 (public methods only)."""

    @property
    def firmware_version(self) -> tuple[int, int, int, int]: ...

    def call_function(
        self, command: int, response_length: int = 0, params: Any = b"", timeout: float = 1
    ) -> bytes | bytearray | None: ...


class NfcError(RuntimeError):
    """A card operation failed (card removed, write refused); the reader itself is fine."""


class ReaderFault(NfcError):
    """The reader itself failed; `poll` recovers from it by resetting the chip."""

    def __init__(self, fault: NfcFault, detail: str) -> None:
        super().__init__(f"{fault.value}: {detail}")
        self.fault = fault
        self.detail = detail


class Pn532Reader:
    """Polls for one card at a time; never raises from `poll`: faults are logged, counted and recovered."""

    def __init__(
        self,
        factory: Callable[[], Pn532Like],
        *,
        poll_timeout_s: float = 0.25,
        io_timeout_s: float = 0.5,
        release_s: float = 0.6,
        retry_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        on_fault: Callable[[NfcFault, str], None] | None = None,
    ) -> None:
        self._factory = factory
        self._pn532: Pn532Like | None = None
        self._poll_timeout = poll_timeout_s
        self._io_timeout = io_timeout_s
        self._release_s = release_s
        self._retry_s = retry_s
        self._now = monotonic
        self._on_fault = on_fault
        self._last_uid: bytes | None = None
        self._last_seen = 0.0
        self._next_retry = 0.0
        self.fault: NfcFault | None = None
        self.resets = 0

    # --- life cycle -----------------------------------------------------------------------------------
    def firmware(self) -> tuple[int, int, int, int]:
        """(IC, version, revision, support); raises ReaderFault if the chip does not answer."""
        try:
            return self._chip().firmware_version
        except (RuntimeError, OSError) as e:
            if isinstance(e, ReaderFault):
                raise
            self._pn532 = None
            raise ReaderFault(NfcFault.NO_FIRMWARE, str(e)) from e

    def _chip(self) -> Pn532Like:
        if self._pn532 is None:
            try:
                chip = self._factory()  # the library resets, wakes and reads the firmware here
                if (
                    chip.call_function(_RF_CONFIGURATION, params=_MAX_RETRIES, timeout=self._io_timeout)
                    is None
                ):
                    raise RuntimeError("RFConfiguration not answered")
            except (RuntimeError, OSError, ValueError, ImportError) as e:  # ImportError: Blinka off a Pi
                raise ReaderFault(NfcFault.NO_FIRMWARE, str(e)) from e
            self._pn532 = chip
        return self._pn532

    def _fail(self, fault: NfcFault, detail: str) -> None:
        self._pn532 = None  # rebuilt (reset + wake-up) on the next call
        self._next_retry = self._now() + self._retry_s
        if self.fault is None:
            log.warning("NFC reader fault %s (%s); resetting it", fault.value, detail)
            if self._on_fault is not None:
                self._on_fault(fault, detail)
        self.fault = fault

    def _recovered(self) -> None:
        if self.fault is not None:
            self.resets += 1
            log.warning("NFC reader back after %s (reset %d)", self.fault.value, self.resets)
            self.fault = None

    # --- reading --------------------------------------------------------------------------------------
    def poll(self) -> CardRead | None:
        """A newly tapped card, or None (no card, the same card still held, or the reader is recovering)."""
        now = self._now()
        if self.fault is not None and now < self._next_retry:
            return None
        try:
            tag = self.detect()
            self._recovered()
            if tag is None:
                if self._last_uid is not None and now - self._last_seen >= self._release_s:
                    self._last_uid = None
                return None
            if tag.uid == self._last_uid:
                self._last_seen = now
                return None
            read = CardRead(tag.uid, self._read_credential(tag))
            # Only a completed read counts: a fault mid-read leaves the tap to be read after the reset.
            self._last_uid, self._last_seen = tag.uid, now
            return read
        except ReaderFault as f:
            self._fail(f.fault, f.detail)
            return None

    def detect(self) -> Tag | None:
        """The card in the field now, if any (no debounce)."""
        resp = self._call(_IN_LIST_PASSIVE_TARGET, bytes([1, 0]), 64, self._poll_timeout)
        if resp is None:  # retries are limited, so a healthy chip always answers, if only "0 targets"
            raise ReaderFault(NfcFault.NO_ANSWER, "InListPassiveTarget not answered")
        if len(resp) >= 1 and resp[0] == 0:
            return None
        if len(resp) < 6 or resp[0] != 1 or len(resp) < 6 + resp[5]:
            raise ReaderFault(NfcFault.PROTOCOL, f"bad InListPassiveTarget answer {bytes(resp).hex()}")
        sak, uid = resp[4], bytes(resp[6 : 6 + resp[5]])
        if sak & 0x08:
            kind = CardKind.MIFARE_CLASSIC
        elif sak == 0x00:
            kind = CardKind.NTAG
        else:
            kind = CardKind.OTHER
        return Tag(uid, kind, sak)

    def _read_credential(self, tag: Tag) -> bytes | None:
        if tag.kind is not CardKind.NTAG:
            return None
        try:
            return ndef.card_credential(self.read_user_area())
        except ndef.NdefError as e:
            log.info("card %s: no usable credential (%s)", tag.uid.hex(), e.reason.value)
            return None
        except ReaderFault:
            raise
        except NfcError as e:
            log.info("card %s: read failed (%s)", tag.uid.hex(), e)
            return None

    def read_pages(self, page: int) -> bytes:
        """16 bytes: four pages from `page` (one NTAG READ)."""
        resp = self._call(_IN_DATA_EXCHANGE, bytes([1, _NTAG_READ, page]), 17)
        if resp is None or len(resp) != 17 or resp[0] != 0:
            raise NfcError(f"READ page {page} failed (card moved away?)")
        return bytes(resp[1:])

    def read_user_area(self) -> bytes:
        """The tag's user bytes up to the end of its NDEF TLV: only the pages needed are read."""
        cc = self.read_pages(3)[:4]
        if cc[0] != 0xE1:
            raise NfcError("not an NDEF-formatted tag (capability container)")
        size = min(cc[2] * 8, _MAX_USER_BYTES)
        area = b""
        page = _FIRST_USER_PAGE
        while len(area) < size:
            area += self.read_pages(page)
            page += 4
            try:
                needed = ndef.tlv_needed(area)
            except ndef.NdefError:
                break
            if needed is not None and len(area) >= min(needed + 1, size):
                break
        return area[:size]

    def write_user_area(self, data: bytes) -> None:
        """Write from page 4 on, page by page, then read it back: raises NfcError unless every byte is there."""
        cc = self.read_pages(3)[:4]
        if cc[0] != 0xE1 or cc[3] & 0x0F:  # low nibble of CC byte 3: write access, 0 = granted
            raise NfcError("tag is not NDEF-formatted or is write-protected")
        if len(data) > cc[2] * 8:
            raise NfcError(f"{len(data)} bytes do not fit this tag's {cc[2] * 8}")
        padded = data + b"\x00" * (-len(data) % 4)
        for i in range(0, len(padded), 4):
            page = _FIRST_USER_PAGE + i // 4
            resp = self._call(_IN_DATA_EXCHANGE, bytes([1, _NTAG_WRITE, page]) + padded[i : i + 4], 1)
            if resp is None or len(resp) < 1 or resp[0] != 0:
                raise NfcError(f"WRITE page {page} refused (card moved away?)")
        back = b""
        for page in range(_FIRST_USER_PAGE, _FIRST_USER_PAGE + len(padded) // 4 + 1, 4):
            back += self.read_pages(page)
        if back[: len(data)] != data:
            raise NfcError("read-back differs from what was written")

    def _call(
        self, command: int, params: bytes, response_length: int, timeout: float | None = None
    ) -> bytes | bytearray | None:
        chip = self._chip()
        try:
            return chip.call_function(
                command, response_length=response_length, params=params, timeout=timeout or self._io_timeout
            )
        except OSError as e:
            raise ReaderFault(NfcFault.TRANSPORT, str(e)) from e
        except (RuntimeError, IndexError, TypeError) as e:  # the library's frame checks raise these
            raise ReaderFault(NfcFault.PROTOCOL, str(e)) from e

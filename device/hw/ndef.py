"""The minimal NDEF we need: one record in an NFC Forum Type 2 tag's NDEF Message TLV.

ndeflib, the usual Python NDEF library, had its last release in 2019 and nfcpy's copy of it in 2022, so
this encodes the single record we write (NFC Forum external type `sw.kz:cc`, the card credential) and
parses whatever a card holds defensively: any malformed or truncated byte string gives an NdefError with a
stable reason, never an exception of another kind.
"""

from __future__ import annotations

import enum

CARD_CREDENTIAL_TYPE = b"sw.kz:cc"  # NFC Forum external type (TNF 4): domain sw.kz, type cc
TNF_EXTERNAL = 0x04
_MB, _ME, _CF, _SR, _IL = 0x80, 0x40, 0x20, 0x10, 0x08
TLV_NULL, TLV_LOCK, TLV_MEMORY, TLV_NDEF, TLV_TERMINATOR = 0x00, 0x01, 0x02, 0x03, 0xFE
MAX_MESSAGE = 0xFFFE  # three-byte TLV length form


class NdefReason(enum.StrEnum):
    NO_NDEF = "NO_NDEF"  # no NDEF Message TLV on the tag (blank or foreign card)
    TRUNCATED = "TRUNCATED"  # a length runs past the bytes read
    MALFORMED = "MALFORMED"  # bad record header, chunked record, or trailing bytes
    NOT_FOUND = "NOT_FOUND"  # a valid message without our record type
    TOO_LARGE = "TOO_LARGE"  # more than the tag can hold


class NdefError(ValueError):
    def __init__(self, reason: NdefReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason


def encode_record(payload: bytes, rtype: bytes = CARD_CREDENTIAL_TYPE, tnf: int = TNF_EXTERNAL) -> bytes:
    """A one-record NDEF message (MB and ME set); short-record form when the payload fits in 255 bytes."""
    if not 0 < len(rtype) < 256:
        raise ValueError("record type is 1-255 bytes")
    short = len(payload) < 256
    header = _MB | _ME | (_SR if short else 0) | tnf
    length = bytes([len(payload)]) if short else len(payload).to_bytes(4, "big")
    return bytes([header, len(rtype)]) + length + rtype + payload


def encode_tlv(message: bytes) -> bytes:
    """NDEF Message TLV followed by the Terminator TLV, as written from page 4 of a Type 2 tag."""
    if len(message) > MAX_MESSAGE:
        raise NdefError(NdefReason.TOO_LARGE, f"{len(message)} bytes")
    length = bytes([len(message)]) if len(message) < 0xFF else b"\xff" + len(message).to_bytes(2, "big")
    return bytes([TLV_NDEF]) + length + message + bytes([TLV_TERMINATOR])


def tlv_needed(head: bytes) -> int | None:
    """How many bytes from the start of the user area hold the NDEF TLV, or None if `head` is too short to say.

    Lets a reader fetch only the pages it needs instead of the whole tag.
    """
    i = 0
    while i < len(head):
        tag = head[i]
        if tag == TLV_NULL:
            i += 1
            continue
        if tag == TLV_TERMINATOR:
            raise NdefError(NdefReason.NO_NDEF, "terminator before any NDEF message")
        if i + 1 >= len(head):
            return None
        if head[i + 1] == 0xFF:
            if i + 3 >= len(head):
                return None
            length, hdr = int.from_bytes(head[i + 2 : i + 4], "big"), 4
        else:
            length, hdr = head[i + 1], 2
        if tag == TLV_NDEF:
            return i + hdr + length
        if tag not in (TLV_LOCK, TLV_MEMORY):
            raise NdefError(NdefReason.NO_NDEF, f"unknown TLV 0x{tag:02x}")
        i += hdr + length
    return None


def find_message(area: bytes) -> bytes:
    """The NDEF message in a Type 2 tag's user area (bytes from page 4 on)."""
    end = tlv_needed(area)
    if end is None:
        raise NdefError(NdefReason.NO_NDEF, "no NDEF Message TLV in the user area")
    if end > len(area):
        raise NdefError(NdefReason.TRUNCATED, "NDEF TLV runs past the bytes read")
    i = 0
    while area[i] == TLV_NULL:
        i += 1
    while area[i] != TLV_NDEF:  # skip lock/memory control TLVs, already validated by tlv_needed
        ln = area[i + 1]
        i += (4 + int.from_bytes(area[i + 2 : i + 4], "big")) if ln == 0xFF else 2 + ln
    hdr = 4 if area[i + 1] == 0xFF else 2
    return area[i + hdr : end]


def parse_records(message: bytes) -> list[tuple[int, bytes, bytes]]:
    """(tnf, type, payload) of each record; ids are skipped, chunked records refused."""
    records: list[tuple[int, bytes, bytes]] = []
    i = 0
    while i < len(message):
        header = message[i]
        if header & _CF:
            raise NdefError(NdefReason.MALFORMED, "chunked records are not supported")
        if bool(header & _MB) != (i == 0):
            raise NdefError(NdefReason.MALFORMED, "message-begin flag misplaced")
        i += 1
        fixed = 1 + (1 if header & _SR else 4) + (1 if header & _IL else 0)
        if i + fixed > len(message):
            raise NdefError(NdefReason.TRUNCATED, "record header cut short")
        type_len = message[i]
        i += 1
        if header & _SR:
            payload_len = message[i]
            i += 1
        else:
            payload_len = int.from_bytes(message[i : i + 4], "big")
            i += 4
        id_len = 0
        if header & _IL:
            id_len = message[i]
            i += 1
        end = i + type_len + id_len + payload_len
        if end > len(message):
            raise NdefError(NdefReason.TRUNCATED, "record runs past the message")
        rtype = message[i : i + type_len]
        payload = message[i + type_len + id_len : end]
        records.append((header & 0x07, bytes(rtype), bytes(payload)))
        i = end
        if header & _ME:
            if i != len(message):
                raise NdefError(NdefReason.MALFORMED, "bytes after the message-end record")
            return records
    raise NdefError(NdefReason.MALFORMED, "no message-end record")


def card_credential(area: bytes) -> bytes:
    """The card-credential payload stored on a tag, given the tag's user area."""
    for tnf, rtype, payload in parse_records(find_message(area)):
        if tnf == TNF_EXTERNAL and rtype == CARD_CREDENTIAL_TYPE:
            return payload
    raise NdefError(NdefReason.NOT_FOUND, "no sw.kz:cc record on the card")

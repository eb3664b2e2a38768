"""A card reader fed by typed lines: a card UID in hex, optionally `:` and the NDEF credential in hex."""

from __future__ import annotations

import binascii
from collections.abc import Iterator

from ..interfaces import CardRead

UID_LENGTHS = (4, 7, 10)


class TypedCardReader:
    """Implements device.interfaces.CardReader over an iterator of lines (stdin in the simulator).
    A line that is not a card (bad hex, wrong UID length) is reported on `errors` and skipped."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.errors: list[str] = []
        self.exhausted = False

    def poll(self) -> CardRead | None:
        for line in self._lines:
            text = line.strip()
            if not text:
                return None
            card = parse_card_line(text)
            if card is None:
                self.errors.append(text)
                return None
            return card
        self.exhausted = True
        return None


def parse_card_line(text: str) -> CardRead | None:
    uid_hex, _, ndef_hex = text.partition(":")
    try:
        uid = binascii.unhexlify(uid_hex.replace(" ", ""))
        ndef = binascii.unhexlify(ndef_hex.strip()) if ndef_hex.strip() else None
    except (binascii.Error, ValueError):
        return None
    if len(uid) not in UID_LENGTHS:
        return None
    return CardRead(uid, ndef)

"""What terminals know a pupil by: a keyed hash of the IIN and a display string, never the IIN or name."""

from __future__ import annotations

import hashlib
import hmac

PSEUDONYM_LEN = 16


def pseudonym_for(secret: bytes, iin: str) -> bytes:
    return hmac.new(secret, iin.encode("ascii"), hashlib.sha256).digest()[:PSEUDONYM_LEN]


def display_for(full_name: str, class_name: str) -> str:
    """Initials and class, e.g. 'Сейтқали Айгерим Бекқызы', '5А' → 'С.А.Б. 5А'."""
    initials = "".join(f"{part[0].upper()}." for part in full_name.split() if part)[:12]
    return f"{initials} {class_name}".strip()[:40]

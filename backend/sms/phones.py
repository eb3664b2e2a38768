"""Kazakhstan mobile numbers in one canonical form: +7 and ten digits."""

from __future__ import annotations

import re

_NOISE = re.compile(r"[\s\-()]")


def normalize_phone(raw: str) -> str | None:
    """`+7 701 234 56 78`, `87012345678`, `77012345678` → `+77012345678`; anything else → None."""
    digits = _NOISE.sub("", raw.strip())
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("7"):
            return None
    if not digits.isdigit():
        return None
    if len(digits) == 11 and digits[0] in "78":
        digits = digits[1:]
    if len(digits) != 10:
        return None
    return "+7" + digits

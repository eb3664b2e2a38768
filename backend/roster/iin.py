"""Kazakhstan individual identification number (IIN, ЖСН/ИИН): 12 digits, the last a check digit."""

from __future__ import annotations

_W1 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_W2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def check_digit(first11: str) -> int | None:
    """Weights 1..11 mod 11; a result of 10 retries with 3..11,1,2; 10 again means no valid IIN."""
    digits = [int(ch) for ch in first11]
    for weights in (_W1, _W2):
        r = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if r != 10:
            return r
    return None


def is_valid_iin(value: str) -> bool:
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        return False
    expected = check_digit(value[:11])
    return expected is not None and expected == int(value[11])


def make_iin(first11: str) -> str | None:
    """Completes 11 digits with the check digit (test data, demo); None when no digit fits."""
    cd = check_digit(first11)
    return None if cd is None else first11 + str(cd)

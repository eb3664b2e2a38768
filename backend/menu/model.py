"""Menu rules: a slot's dishes, each named in Kazakh and Russian, with optional allergens. Pure."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from backend.errors import DomainError

MAX_DISHES = 12
MAX_NAME = 200


class MenuReason(enum.StrEnum):
    MENU_EMPTY = "MENU_EMPTY"
    DISH_INVALID = "DISH_INVALID"
    TOO_MANY_DISHES = "TOO_MANY_DISHES"
    SLOT_UNKNOWN = "SLOT_UNKNOWN"
    RANGE_TOO_LONG = "RANGE_TOO_LONG"


# The 14 allergens food labelling commonly names (EU Regulation 1169/2011, Annex II); codes, not text.
ALLERGENS = frozenset(
    {
        "gluten", "crustaceans", "eggs", "fish", "peanuts", "soy", "milk", "nuts", "celery",
        "mustard", "sesame", "sulphites", "lupin", "molluscs",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Dish:
    kk: str
    ru: str
    allergens: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kk": self.kk, "ru": self.ru, "allergens": list(self.allergens)}


def check_dishes(raw: Sequence[Any]) -> tuple[Dish, ...]:
    """Strict: both names present and short, allergens from the known codes, at most MAX_DISHES."""
    if not raw:
        raise DomainError(MenuReason.MENU_EMPTY, "a menu names at least one dish")
    if len(raw) > MAX_DISHES:
        raise DomainError(MenuReason.TOO_MANY_DISHES, f"at most {MAX_DISHES} dishes per slot")
    dishes = []
    for i, d in enumerate(raw, 1):
        if not isinstance(d, dict):
            raise DomainError(MenuReason.DISH_INVALID, f"dish {i} is not an object")
        kk, ru, allergens = d.get("kk"), d.get("ru"), d.get("allergens", [])
        for lang, name in (("kk", kk), ("ru", ru)):
            if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
                raise DomainError(MenuReason.DISH_INVALID, f"dish {i}: name in {lang} missing or too long")
        if not isinstance(allergens, list) or any(a not in ALLERGENS for a in allergens):
            raise DomainError(
                MenuReason.DISH_INVALID, f"dish {i}: allergens are codes of {sorted(ALLERGENS)}"
            )
        assert isinstance(kk, str) and isinstance(ru, str)
        dishes.append(Dish(kk.strip(), ru.strip(), tuple(sorted(set(allergens)))))
    return tuple(dishes)

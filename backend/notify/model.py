"""The parent-notification channel: what a notice says and the interface every channel implements."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from backend.clock import KZ_TZ

GUARDIAN_ORDER = ("mother", "father", "guardian", "trustee")


class NotifyReason(enum.StrEnum):
    BAD_SUBSCRIPTION = "BAD_SUBSCRIPTION"  # a Web Push subscription whose endpoint or keys do not parse


class PushOutcome(enum.StrEnum):
    """What one push attempt came to, as recorded per notice and subscription."""

    SENT = "sent"
    GONE = "gone"  # the push service no longer knows the subscription: it is removed
    RETRY = "retry"
    GAVE_UP = "gave_up"


class Notifier(Protocol):
    """A channel. Called inside the ingestion transaction, so a notice exists exactly when its meal does."""

    def meals_served(self, session: Session, school_id: int, event_ids: Sequence[bytes]) -> int:
        """Queue the notices of these meals, stored at this school, each passed once; returns how many."""
        ...


# The meal notice's words per language; {display}, {day} (dd.mm.yyyy) and {hour} (hh:mm, local time).
MEAL_TEXTS = {
    "kk": "{display}: {day} сағат {hour} мектепте ыстық тамақ алды.",
    "ru": "{display}: {day} в {hour} получил(а) горячее питание в школе.",
}
BOTH_LANGUAGES = "{kk} / {ru}"  # the order's default (any language but kk or ru): both in one message


def meal_text(language: str, display: str, served_at: datetime) -> str:
    """The notice in the parent's language ("kk", "ru" or both, the order's default)."""
    local = served_at.astimezone(KZ_TZ)
    day, hour = local.strftime("%d.%m.%Y"), local.strftime("%H:%M")
    kk, ru = (MEAL_TEXTS[lang].format(display=display, day=day, hour=hour) for lang in ("kk", "ru"))
    if language == "kk":
        return kk
    if language == "ru":
        return ru
    return BOTH_LANGUAGES.format(kk=kk, ru=ru)


def pick_guardian(guardians: Sequence[tuple[int, str, bool]]) -> int | None:
    """(parent id, role, has phone) → the parent to tell: one with a phone first, then by role order."""
    if not guardians:
        return None

    def rank(g: tuple[int, str, bool]) -> tuple[bool, int, int]:
        role = GUARDIAN_ORDER.index(g[1]) if g[1] in GUARDIAN_ORDER else len(GUARDIAN_ORDER)
        return (not g[2], role, g[0])

    return min(guardians, key=rank)[0]

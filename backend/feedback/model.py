"""Feedback rules: a rating is 1–5 stars with optional text, once per served meal; complaints route by district."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from backend.errors import DomainError

MAX_TEXT = 1000


class FeedbackReason(enum.StrEnum):
    BAD_STARS = "BAD_STARS"
    TEXT_TOO_LONG = "TEXT_TOO_LONG"
    EMPTY_COMPLAINT = "EMPTY_COMPLAINT"
    ALREADY_RATED = "ALREADY_RATED"
    NOT_SERVED = "NOT_SERVED"  # the meal was rejected by an admin: nothing was served to rate
    ALREADY_RESOLVED = "ALREADY_RESOLVED"
    ALREADY_CLOSED = "ALREADY_CLOSED"
    ALREADY_FORWARDED = "ALREADY_FORWARDED"  # queued for e-Otinish once already, or no longer received


class ComplaintStatus(enum.StrEnum):
    """What the parent sees: received here, forwarded to e-Otinish (receipted), answered, closed."""

    RECEIVED = "received"
    FORWARDED = "forwarded"
    ANSWERED = "answered"
    CLOSED = "closed"


OPEN_STATUSES = frozenset({ComplaintStatus.RECEIVED, ComplaintStatus.FORWARDED})


def check_rating(stars: int, text: str | None) -> str | None:
    if type(stars) is not int or not 1 <= stars <= 5:
        raise DomainError(FeedbackReason.BAD_STARS, "stars is a whole number from 1 to 5")
    if text is not None and len(text) > MAX_TEXT:
        raise DomainError(FeedbackReason.TEXT_TOO_LONG, f"at most {MAX_TEXT} characters")
    text = (text or "").strip()
    return text or None


def check_complaint(text: str) -> str:
    text = text.strip()
    if not text:
        raise DomainError(FeedbackReason.EMPTY_COMPLAINT, "say what went wrong")
    if len(text) > MAX_TEXT:
        raise DomainError(FeedbackReason.TEXT_TOO_LONG, f"at most {MAX_TEXT} characters")
    return text


@dataclass(frozen=True, slots=True)
class RatingSummary:
    count: int
    average: float | None  # rounded to 2 places; None without ratings
    distribution: dict[int, int]  # stars → count, 1..5 always present


def summarise(stars: Iterable[tuple[int, int]]) -> RatingSummary:
    """(stars, count) pairs → count, average, distribution."""
    dist = dict.fromkeys(range(1, 6), 0)
    for s, n in stars:
        dist[s] += n
    total = sum(dist.values())
    avg = round(sum(s * n for s, n in dist.items()) / total, 2) if total else None
    return RatingSummary(total, avg, dist)

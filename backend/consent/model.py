"""Consent rules: who receives the request, what a reply means, the request's states. Pure: no I/O."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass


class ReplyNote(enum.StrEnum):
    """Why an inbound reply led to no decision, noted on its row in the SMS log."""

    UNKNOWN_NUMBER = "UNKNOWN_NUMBER"
    HELP_SENT = "HELP_SENT"
    HELP_SUPPRESSED = "HELP_SUPPRESSED"  # over the day's help texts for the number (forged or looping texts)
    NO_PENDING_REQUEST = "NO_PENDING_REQUEST"


class ConsentStatus(enum.StrEnum):
    PENDING = "pending"
    AGREED = "agreed"
    DECLINED = "declined"
    EXPIRED = "expired"  # no answer to the request and the reminder


class IssueReason(enum.StrEnum):
    NO_PHONE = "NO_PHONE"  # no linked parent has a number on record: the process ends
    UNLINKED = "UNLINKED"  # no parent linked in the state records: district admin follows up


class ReplyKind(enum.StrEnum):
    AGREE = "agree"
    DECLINE = "decline"
    OTHER = "other"


class ConsentReason(enum.StrEnum):
    NOT_DECIDED = "CONSENT_NOT_DECIDED"  # re-ask needs a declined or expired request
    NO_PENDING = "NO_PENDING_CONSENT"  # an answer in the app with no request waiting for one


# Order's Annex 1, point 9: mother first, then father, then the legal representatives.
ROLE_PRIORITY = {"mother": 0, "father": 1, "guardian": 2, "trustee": 2}
ROLES = frozenset(ROLE_PRIORITY)


@dataclass(frozen=True, slots=True)
class Guardian:
    parent_id: int
    role: str
    phone: str | None


def choose_recipient(guardians: Sequence[Guardian]) -> Guardian | IssueReason:
    """The highest-priority linked parent with a phone; NO_PHONE / UNLINKED when there is none."""
    if not guardians:
        return IssueReason.UNLINKED
    with_phone = [g for g in guardians if g.phone]
    if not with_phone:
        return IssueReason.NO_PHONE
    return min(with_phone, key=lambda g: (ROLE_PRIORITY.get(g.role, 9), g.parent_id))


def parse_reply(text: str, *, agree: str, decline: str) -> ReplyKind:
    """Whitespace anywhere is ignored ("3 # 1", " 3#1\\n"); anything else is OTHER."""
    compact = "".join(text.split())
    if compact == "".join(agree.split()):
        return ReplyKind.AGREE
    if compact == "".join(decline.split()):
        return ReplyKind.DECLINE
    return ReplyKind.OTHER

"""Monthly eligibility lists: categories, the list's states, and the rules for an entry. Pure: no I/O."""

from __future__ import annotations

import enum
from datetime import date

from backend.adapters.state_registry import Category, ReturnReason
from backend.errors import DomainError
from backend.roster.grades import LAST_UNCONDITIONAL_GRADE, MAX_GRADE, MIN_GRADE

__all__ = [
    "LAST_UNCONDITIONAL_GRADE",
    "MAX_GRADE",
    "MIN_GRADE",
    "Category",
    "ReturnReason",
]  # the register's vocabulary, used by the list's rules


class ListStatus(enum.StrEnum):
    DRAFT = "draft"  # the social pedagogue forms it
    APPROVED = "approved"  # the head approved it
    CHECKED = "checked"  # cross-checked against the state categories


class EntryResult(enum.StrEnum):
    CONFIRMED = "confirmed"
    RETURNED = "returned"


class ListReason(enum.StrEnum):
    WRONG_STATE = "LIST_WRONG_STATE"
    CATEGORY_REQUIRED = "CATEGORY_REQUIRED"
    GRADE_INVALID = "GRADE_INVALID"
    DUPLICATE = "DUPLICATE"
    EMPTY_LIST = "EMPTY_LIST"
    MONTH_INVALID = "MONTH_INVALID"
    CATEGORY_UNKNOWN = "CATEGORY_UNKNOWN"
    CATEGORY_CODE_INVALID = "CATEGORY_CODE_INVALID"
    CATEGORY_NAME_MISSING = "CATEGORY_NAME_MISSING"
    PLAN_UNKNOWN = "PLAN_UNKNOWN"
    COMMENT_REQUIRED = "COMMENT_REQUIRED"


_NEXT = {ListStatus.DRAFT: ListStatus.APPROVED, ListStatus.APPROVED: ListStatus.CHECKED}
# The head may send an approved or checked list back to the pedagogue; it is then re-checked.
RETURNABLE = frozenset({ListStatus.APPROVED, ListStatus.CHECKED})


def advance(current: ListStatus, target: ListStatus) -> ListStatus:
    """draft → approved → checked, nothing else."""
    if _NEXT.get(current) is not target:
        raise DomainError(ListReason.WRONG_STATE, f"a {current} list cannot become {target}")
    return target


def require_draft(status: ListStatus) -> None:
    if status is not ListStatus.DRAFT:
        raise DomainError(ListReason.WRONG_STATE, f"the list is {status}; only a draft can change")


def check_entry(grade: int, category: str | None) -> None:
    if not MIN_GRADE <= grade <= MAX_GRADE:
        raise DomainError(ListReason.GRADE_INVALID, f"grade {grade} is outside 1..11")
    if grade > LAST_UNCONDITIONAL_GRADE and category is None:
        raise DomainError(ListReason.CATEGORY_REQUIRED, "grades 5–11 need a state category")


def unconditional(grade: int) -> bool:
    return grade <= LAST_UNCONDITIONAL_GRADE


def parse_month(text: str) -> date:
    """'2026-09' → date(2026, 9, 1)."""
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise DomainError(ListReason.MONTH_INVALID, f"month must be YYYY-MM, got {text!r}") from None

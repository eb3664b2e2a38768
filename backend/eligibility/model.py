"""Monthly eligibility lists: categories, the list's states, and the rules for an entry. Pure: no I/O."""

from __future__ import annotations

import enum
from datetime import date

from backend.adapters.state_registry import Category, ReturnReason
from backend.errors import DomainError

MIN_GRADE, MAX_GRADE = 1, 11
LAST_UNCONDITIONAL_GRADE = 4  # grades 1–4: eligible without a category

__all__ = ["Category", "ReturnReason"]  # the register's vocabulary, used by the list's rules


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
    COMMENT_REQUIRED = "COMMENT_REQUIRED"  # a returned list says why


_NEXT = {ListStatus.DRAFT: ListStatus.APPROVED, ListStatus.APPROVED: ListStatus.CHECKED}


def advance(current: ListStatus, target: ListStatus) -> ListStatus:
    """draft → approved → checked, nothing else."""
    if _NEXT.get(current) is not target:
        raise DomainError(ListReason.WRONG_STATE, f"a {current} list cannot become {target}")
    return target


def returnable(current: ListStatus) -> ListStatus:
    """The head sends a list back to the pedagogue until it is cross-checked: it becomes a draft."""
    if current is ListStatus.CHECKED:
        raise DomainError(ListReason.WRONG_STATE, "a cross-checked list cannot be returned")
    return ListStatus.DRAFT


def require_draft(status: ListStatus) -> None:
    if status is not ListStatus.DRAFT:
        raise DomainError(ListReason.WRONG_STATE, f"the list is {status}; only a draft can change")


def check_entry(grade: int, category: Category | None) -> None:
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

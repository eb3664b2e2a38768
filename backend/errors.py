"""Domain errors: a stable reason code from the feature's reason enum and a human detail.

No HTTP here: the API edge (backend.http_errors) maps each reason to its status in one table."""

from __future__ import annotations

import enum


class CommonReason(enum.StrEnum):
    """Reasons every feature may answer with."""

    NOT_FOUND = "NOT_FOUND"
    INVALID_REQUEST = "INVALID_REQUEST"
    CHOOSE_ONE = "CHOOSE_ONE"  # a form field outside its fixed choices


class DomainError(Exception):
    """`extra` holds further fields of the answer (a refused terminal learns the server's time)."""

    def __init__(self, reason: enum.StrEnum, detail: str = "", extra: dict[str, int] | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail
        self.extra = extra or {}


class RateLimited(DomainError):
    """A refusal that ends by waiting: the edge answers it with `Retry-After: retry_after` seconds."""

    def __init__(self, reason: enum.StrEnum, detail: str, retry_after: int) -> None:
        super().__init__(reason, detail)
        self.retry_after = max(1, retry_after)


def not_found(what: str) -> DomainError:
    """Foreign and missing objects answer the same, so a caller cannot probe what exists."""
    return DomainError(CommonReason.NOT_FOUND, f"{what} not found")

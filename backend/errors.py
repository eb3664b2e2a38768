"""Domain errors: a stable reason code, a human detail and the HTTP status the API answers with."""

from __future__ import annotations


class DomainError(Exception):
    def __init__(
        self, reason: str, detail: str = "", status: int = 400, *, retry_after: int | None = None
    ) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = str(reason)
        self.detail = detail
        self.status = status
        self.retry_after = retry_after  # seconds, sent as Retry-After with a 429


def not_found(what: str) -> DomainError:
    """Foreign and missing objects answer the same, so a caller cannot probe what exists."""
    return DomainError("NOT_FOUND", f"{what} not found", 404)


def conflict(reason: str, detail: str) -> DomainError:
    return DomainError(reason, detail, 409)


def rate_limited(reason: str, detail: str, retry_after: int) -> DomainError:
    return DomainError(reason, detail, 429, retry_after=max(1, retry_after))

"""The one shape of every error answer, `{"reason": CODE, "detail": text}`, and its OpenAPI entries.

Low in the layers so every router can declare the error statuses its use cases answer
(`responses=errors(401, 429)`); backend.http_errors decides which status each reason gets.
"""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.responses import JSONResponse


class EdgeReason(enum.StrEnum):
    """Refusals of the edge itself, before a use case runs: the framework's, and the body caps'."""

    BAD_REQUEST = "BAD_REQUEST"
    BODY_UNREADABLE = "BODY_UNREADABLE"  # the body does not parse (JSON, form)
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    TOO_LARGE = "TOO_LARGE"  # over the route's body cap (backend.body_limits)
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    JSON_TOO_DEEP = "JSON_TOO_DEEP"
    INVALID_REQUEST = "INVALID_REQUEST"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class ErrorOut(BaseModel):
    """Every error answer. `reason` is stable (clients branch on it); `detail` is for people. A few
    answers add integer fields (a refused terminal learns the server's time)."""

    model_config = ConfigDict(extra="allow")

    reason: str
    detail: str


STATUS_TEXT = {
    400: "Refused: the request is well-formed but its content is not acceptable (see `reason`)",
    401: "No valid credentials (Bearer session, terminal signature or webhook signature)",
    403: "Authenticated, but this role or caller may not do this",
    404: "No such object, or one outside the caller's scope (the two answer alike)",
    409: "Conflicts with the object's current state",
    410: "Gone: the link or pass was used, expired or revoked",
    413: "The request body is over this route's cap",
    422: "The request does not match this description (types, ranges, patterns, JSON nesting)",
    429: "Too many attempts: wait the Retry-After seconds",
    503: "A service this route needs is not configured or not reachable",
}


def error_response(
    reason: str, detail: str, status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"reason": reason, "detail": detail}, status_code=status, headers=headers)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the given error statuses, each in the one error shape."""
    return {s: {"model": ErrorOut, "description": STATUS_TEXT[s]} for s in statuses}

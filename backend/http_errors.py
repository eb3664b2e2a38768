"""One error contract for every answer that is not a success: `{"reason": CODE, "detail": text}`.

Domain errors carry their own reason; the framework's own refusals (no such route, wrong method, a body
that does not parse or validate) and unexpected failures are mapped here, so a client reads one shape.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from .errors import DomainError

log = logging.getLogger(__name__)

# Starlette's own refusals, by status.
HTTP_REASONS = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "INVALID_REQUEST",
    429: "RATE_LIMITED",
}
BODY_UNREADABLE = "BODY_UNREADABLE"
INVALID_REQUEST = "INVALID_REQUEST"
INTERNAL_ERROR = "INTERNAL_ERROR"


class ErrorOut(BaseModel):
    """Every error answer. `reason` is stable (clients branch on it); `detail` is for people."""

    reason: str
    detail: str


def error_response(
    reason: str, detail: str, status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"reason": reason, "detail": detail}, status_code=status, headers=headers)


def _validation_detail(errors: Any) -> tuple[str, str]:
    parts = []
    reason = INVALID_REQUEST
    for e in errors:
        if e.get("type") == "json_invalid":
            reason = BODY_UNREADABLE
        parts.append(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}")
    return reason, "; ".join(parts)[:1000]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return error_response(exc.reason, exc.detail, exc.status, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        reason, detail = _validation_detail(exc.errors())
        return error_response(reason, detail, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        reason = HTTP_REASONS.get(exc.status_code, f"HTTP_{exc.status_code}")
        if exc.status_code == 400:
            reason = BODY_UNREADABLE  # FastAPI's only 400 of its own: a body it could not parse
        headers = dict(exc.headers) if exc.headers else None
        return error_response(reason, str(exc.detail)[:1000], exc.status_code, headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(INTERNAL_ERROR, "the server failed; the incident is logged", 500)


STATUS_TEXT = {
    400: "Refused: the request is well-formed but its content is not acceptable (see `reason`)",
    401: "No valid credentials (Bearer session, terminal signature or webhook signature)",
    403: "Authenticated, but this role or caller may not do this",
    404: "No such object, or one outside the caller's scope (the two answer alike)",
    409: "Conflicts with the object's current state",
    413: "The request body is over this route's cap",
    422: "The request does not match this description (types, ranges, patterns, JSON nesting)",
    429: "Too many attempts: wait the Retry-After seconds",
    503: "A service this route needs is not configured or not reachable",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the given error statuses, each in the one error shape."""
    return {s: {"model": ErrorOut, "description": STATUS_TEXT[s]} for s in statuses}

"""FastAPI dependencies that turn a Bearer token into a Principal and check roles and scope."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import Request

from backend.deps import CtxDep, UowDep
from backend.errors import DomainError, not_found
from backend.unit_of_work import UnitOfWork

from .model import AuthReason, Principal, Role
from .services import principal_for_token


def bearer_token(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise DomainError(AuthReason.UNAUTHENTICATED, "a Bearer token is required")
    return token.strip()


def _principal(request: Request, ctx: CtxDep, uow: UowDep) -> Principal:
    """Looked up in the request's unit of work; its read transaction ends here, so no lock or pooled
    connection is held while the route reads a slow client's body."""
    token = bearer_token(request)
    principal = principal_for_token(uow.session, token, ctx.clock.now())
    uow.rollback()
    if principal is None:
        raise DomainError(AuthReason.UNAUTHENTICATED, "unknown or expired session")
    return principal


async def require_parent_token(request: Request) -> str:
    """The Bearer token only, on the event loop (no I/O): for routes with no body that look the session
    up themselves with `parent_of`, in their own thread and transaction. That saves the thread-pool hop
    and the second connection checkout `require_parent` costs; the session is still read every request,
    so a signed-out or expired one is refused at once."""
    return bearer_token(request)


def parent_of(uow: UnitOfWork, token: str, now: datetime) -> Principal:
    """`require_parent`'s checks, in the caller's unit of work (its transaction stays open)."""
    principal = principal_for_token(uow.session, token, now)
    if principal is None:
        raise DomainError(AuthReason.UNAUTHENTICATED, "unknown or expired session")
    if principal.kind != "parent":
        raise DomainError(AuthReason.FORBIDDEN, "a parent session is required")
    return principal


def require_admin(*roles: Role) -> Callable[[Request, CtxDep, UowDep], Principal]:
    """Any admin when no roles are given; else one of `roles` (403 otherwise)."""
    allowed = frozenset(roles)

    def dependency(request: Request, ctx: CtxDep, uow: UowDep) -> Principal:
        principal = _principal(request, ctx, uow)
        if principal.kind != "admin":
            raise DomainError(AuthReason.FORBIDDEN, "an admin session is required")
        if allowed and principal.role not in allowed:
            raise DomainError(AuthReason.FORBIDDEN, f"role {principal.role} may not do this")
        return principal

    return dependency


def require_parent(request: Request, ctx: CtxDep, uow: UowDep) -> Principal:
    principal = _principal(request, ctx, uow)
    if principal.kind != "parent":
        raise DomainError(AuthReason.FORBIDDEN, "a parent session is required")
    return principal


def ensure_school(principal: Principal, school_id: int) -> None:
    """A school outside the caller's scope answers 404, the same as one that does not exist."""
    if school_id not in principal.school_ids:
        raise not_found("school")


def client_address(request: Request) -> str:
    """The peer's address (uvicorn --proxy-headers with --forwarded-allow-ips sets it from the proxy)."""
    return request.client.host if request.client else "unknown"

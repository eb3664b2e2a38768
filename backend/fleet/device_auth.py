"""Terminal request authentication: the `X-SW-Device-Auth` token checked against the enrolled key.

A 401 carries `server_time` (docs/terminal-api.md) so a terminal with a wrong clock can sign again.
"""

from __future__ import annotations

import enum

from fastapi import Request
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.deps import CtxDep, UowDep
from backend.errors import DomainError
from shared_crypto import KeyRole, Reason, VerificationError, VerifyKey, verify_device_auth
from shared_crypto.device_auth import HEADER

from .model import FleetReason, TerminalIdentity
from .tables import TerminalRow

LEEWAY = 300


class DeviceAuthError(DomainError):
    """Any refusal of a terminal's request token; the API answers 401 with the server's time."""

    def __init__(self, reason: enum.StrEnum, detail: str, server_time: int) -> None:
        super().__init__(reason, detail, {"server_time": server_time})
        self.server_time = server_time


class _EnrolledKeys:
    """KeyLookup over the terminals table: only an active terminal's key verifies."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.found: TerminalRow | None = None
        self.retired = False

    def lookup(self, kid: bytes, role: KeyRole, now: int | None, leeway: int) -> VerifyKey:
        active = self._session.scalars(
            # the predicate is literal, as in the partial unique index, so the planner can use that index
            select(TerminalRow).where(TerminalRow.kid == kid, text("terminals.status = 'active'"))
        ).first()
        if role is not KeyRole.DEVICE or active is None:
            self.retired = (
                self._session.scalar(select(TerminalRow.id).where(TerminalRow.kid == kid)) is not None
            )
            raise VerificationError(Reason.UNKNOWN_KID, kid.hex())
        self.found = active
        return VerifyKey(active.public_key)


def authenticate(session: Session, header: str | None, *, request_line: str, now: int) -> TerminalIdentity:
    if not header:
        raise DeviceAuthError(FleetReason.NO_DEVICE_AUTH, f"{HEADER} header missing", now)
    keys = _EnrolledKeys(session)
    try:
        _, auth = verify_device_auth(header, keys, request=request_line, now=now, leeway=LEEWAY)
    except VerificationError as e:
        reason: enum.StrEnum = FleetReason.TERMINAL_RETIRED if keys.retired else e.reason
        raise DeviceAuthError(reason, e.detail, now) from None
    row = keys.found
    assert row is not None  # verification succeeded, so the lookup found a key
    if auth.terminal_id != row.id:
        raise DeviceAuthError(
            FleetReason.TERMINAL_MISMATCH, "token names another terminal than its key's", now
        )
    return TerminalIdentity(row.id, row.school_id, row.canteen_id, VerifyKey(row.public_key), row.enrolled_at)


def authenticate_request(session: Session, request: Request, now: int) -> TerminalIdentity:
    """`authenticate` for this request's header and request line, in the caller's session."""
    return authenticate(
        session, request.headers.get(HEADER), request_line=f"{request.method} {request.url.path}", now=now
    )


def require_terminal(request: Request, ctx: CtxDep, uow: UowDep) -> TerminalIdentity:
    """FastAPI dependency: the authenticated, active terminal making this request, looked up in the
    request's unit of work; the read transaction ends here, so no lock or pooled connection is held
    while the route reads the terminal's upload."""
    try:
        return authenticate_request(uow.session, request, int(ctx.clock.now().timestamp()))
    finally:
        uow.rollback()

"""Terminal request authentication: the `X-SW-Device-Auth` token checked against the enrolled key.

A 401 carries `server_time` (docs/terminal-api.md) so a terminal with a wrong clock can sign again.
"""

from __future__ import annotations

import enum
import functools
from typing import Any, cast

from fastapi import Request
from sqlalchemy import Connection, Row, Table, bindparam, select, text
from sqlalchemy.orm import Session

from backend.deps import CtxDep, UowDep
from backend.errors import DomainError
from shared_crypto import KeyRole, Reason, VerificationError, VerifyKey, verify_device_auth
from shared_crypto.device_auth import HEADER

from .model import FleetReason, TerminalIdentity
from .tables import AllowlistVersionRow, TerminalRow

LEEWAY = 300


class DeviceAuthError(DomainError):
    """Any refusal of a terminal's request token; the API answers 401 with the server's time."""

    def __init__(self, reason: enum.StrEnum, detail: str, server_time: int) -> None:
        super().__init__(reason, detail, {"server_time": server_time})
        self.server_time = server_time


_TERMINALS = cast(Table, TerminalRow.__table__)
_VERSIONS = cast(Table, AllowlistVersionRow.__table__)
# Built once, Core on the tables: the ORM's entity load and the statement's construction cost more than
# the indexed read. The predicate on status is literal, as in the partial unique index, so the planner
# uses that index.
_ACTIVE_BY_KID = select(
    _TERMINALS.c.id,
    _TERMINALS.c.school_id,
    _TERMINALS.c.canteen_id,
    _TERMINALS.c.public_key,
    _TERMINALS.c.enrolled_at,
).where(_TERMINALS.c.kid == bindparam("kid"), text("terminals.status = 'active'"))
# The same, with the school's allowlist change counter in the same round trip (absent means 0).
_ACTIVE_BY_KID_WITH_VERSION = _ACTIVE_BY_KID.add_columns(_VERSIONS.c.version).select_from(
    _TERMINALS.outerjoin(_VERSIONS, _VERSIONS.c.school_id == _TERMINALS.c.school_id)
)
_ANY_BY_KID = select(_TERMINALS.c.id).where(_TERMINALS.c.kid == bindparam("kid"))


@functools.lru_cache(maxsize=16384)
def verify_key(raw: bytes) -> VerifyKey:
    """A terminal's public key, parsed once per process (here and by the terminal map): the key bytes
    never change meaning, so this caches no decision (whether the terminal is still active is read on
    every request, or by the map within its freshness bound)."""
    return VerifyKey(raw)


class _EnrolledKeys:
    """KeyLookup over the terminals table: only an active terminal's key verifies."""

    def __init__(self, session: Session | Connection, *, with_version: bool = False) -> None:
        self._session = session
        self._stmt = _ACTIVE_BY_KID_WITH_VERSION if with_version else _ACTIVE_BY_KID
        self.found: Row[Any] | None = None
        self.retired = False

    def lookup(self, kid: bytes, role: KeyRole, now: int | None, leeway: int) -> VerifyKey:
        active = self._session.execute(self._stmt, {"kid": kid}).first()
        if role is not KeyRole.DEVICE or active is None:
            self.retired = self._session.scalar(_ANY_BY_KID, {"kid": kid}) is not None
            raise VerificationError(Reason.UNKNOWN_KID, kid.hex())
        self.found = active
        return verify_key(active.public_key)


def authenticate(session: Session, header: str | None, *, request_line: str, now: int) -> TerminalIdentity:
    identity, _ = _authenticate(session, header, request_line=request_line, now=now, with_version=False)
    return identity


def _authenticate(
    session: Session | Connection, header: str | None, *, request_line: str, now: int, with_version: bool
) -> tuple[TerminalIdentity, Row[Any]]:
    if not header:
        raise DeviceAuthError(FleetReason.NO_DEVICE_AUTH, f"{HEADER} header missing", now)
    keys = _EnrolledKeys(session, with_version=with_version)
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
    identity = TerminalIdentity(
        row.id, row.school_id, row.canteen_id, verify_key(row.public_key), row.enrolled_at
    )
    return identity, row


def authenticate_for_allowlist(
    session: Session | Connection, header: str | None, *, request_line: str, now: int
) -> tuple[TerminalIdentity, int]:
    """`authenticate`, and the terminal's school's allowlist change counter read in the same statement:
    a conditional allowlist request is answered from this one indexed read (on a session, or on an
    autocommit connection, which needs no transaction around it)."""
    identity, row = _authenticate(session, header, request_line=request_line, now=now, with_version=True)
    return identity, int(row.version or 0)


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

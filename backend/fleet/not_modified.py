"""The terminal's conditional allowlist request, answered ahead of FastAPI when nothing changed.

Most of a day's allowlist requests are a terminal asking whether its bundle is still current. Their
answer is a bare 304 from one indexed read (the terminal's key joined to its school's change counter),
yet through FastAPI's router (every route tried), dependency solving and response machinery it cost more
than an unknown path's 404 (docs/scale.md, "Allowlist requests"). `AllowlistNotModified` answers exactly the case
"valid device token and If-None-Match naming the current ETag" itself and hands every other request —
no or bad token, another ETag, any error, any other path — to the app untouched, which then decides it
again from scratch (so each refusal keeps its reason code). Both use `current_etag` below: one rule.

Ahead of that read, the layer asks this process's terminal map (backend/fleet/terminal_map.py): while the
map is fresh, a token valid by it with the ETag it gives is answered on the event loop, with no thread-pool
hop and no read. The map holds the same rows the read joins, at most SM_ALLOWLIST_MAP_SECONDS old; a
stale map, a key it does not hold or another ETag goes on to the read.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.context import AppContext
from backend.keys import KeyStore
from shared_crypto.device_auth import HEADER

from .allowlist import etag_for_version, etag_matches
from .device_auth import authenticate_for_allowlist
from .model import TerminalIdentity
from .terminal_map import TerminalMap, mapped_etag

PATH = "/api/terminal/v1/allowlist"
_REQUEST_LINE = f"GET {PATH}"
_AUTH = HEADER.lower().encode("latin-1")


def validators(etag: str) -> dict[str, str]:
    """The headers a cached COSE answer carries, its 304 included."""
    return {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}


def autocommit(engine: Engine) -> Connection:
    """A pooled connection in autocommit: a single read needs no BEGIN and no ROLLBACK round trips."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def current_etag(
    conn: Connection, keys: KeyStore, header: str | None, request_line: str, now: datetime
) -> tuple[TerminalIdentity, str]:
    """The requesting terminal and the ETag of its school's current bundle, from one indexed read on
    an autocommit connection. Raises DeviceAuthError for a refused token."""
    t, version = authenticate_for_allowlist(conn, header, request_line=request_line, now=int(now.timestamp()))
    return t, etag_for_version(keys, t.school_id, version, now)


class KeptConnection:
    """One autocommit connection the layer keeps for its read, instead of a pool checkout per request:
    the checkout's pre-ping round trip, the isolation level set and reset and the return cost about as
    much as the read itself. One request at a time uses it; a request finding it busy checks one out of
    the pool as before. A database error closes it (the next request opens another) and that request
    goes to the app, which reads on a pre-pinged pooled connection: a connection the server or the
    pooler dropped costs one request its fast answer, never a wrong one or an error."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._conn: Connection | None = None

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        if not self._lock.acquire(blocking=False):
            with autocommit(self._engine) as pooled:
                yield pooled
            return
        try:
            if self._conn is None:
                self._conn = autocommit(self._engine)
            conn = self._conn
            try:
                yield conn
            finally:
                # Ends SQLAlchemy's transaction (and SQLite's BEGIN); on PostgreSQL in autocommit none
                # is open, so this sends nothing.
                conn.rollback()
        except SQLAlchemyError:
            self._discard()
            raise
        finally:
            self._lock.release()

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.close()


class AllowlistNotModified:
    """ASGI middleware, outermost: a bare 304 for a current conditional allowlist request; all else to `app`."""

    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx
        self._kept = KeptConnection(ctx.engine)
        self.map = TerminalMap(ctx.engine, ctx.settings.allowlist_map_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # root_path would change the request line the token signs: leave that case to the app.
        if (
            scope["type"] == "http"
            and scope["path"] == PATH
            and scope["method"] == "GET"
            and not scope.get("root_path")
        ):
            etag = await self._current(scope)
            if etag is not None:
                headers = [
                    (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in validators(etag).items()
                ]
                await send({"type": "http.response.start", "status": 304, "headers": headers})
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)

    async def _current(self, scope: Scope) -> str | None:
        """The ETag when the token is valid and If-None-Match names it, else None (the app answers)."""
        if_none_match = token = None
        for name, value in scope["headers"]:  # the first of each, as Starlette's Headers.get reads them
            if name == b"if-none-match" and if_none_match is None:
                if_none_match = value.decode("latin-1")
            elif name == _AUTH and token is None:
                token = value.decode("latin-1")
        if not if_none_match or not token:
            return None
        if (snap := self.map.fresh()) is not None:
            try:
                etag = mapped_etag(snap, self.ctx.keys, token, _REQUEST_LINE, self.ctx.clock.now())
            except Exception:  # whatever the map cannot decide, the read below decides
                etag = None
            if etag is not None and etag_matches(if_none_match, etag):
                return etag
        try:
            etag = await run_in_threadpool(self._etag, token)
        except Exception:  # a refused token, or any failure: the app answers it, with its reason and shape
            return None
        return etag if etag_matches(if_none_match, etag) else None

    def _etag(self, token: str) -> str:
        with self._kept.connection() as conn:
            _, etag = current_etag(conn, self.ctx.keys, token, _REQUEST_LINE, self.ctx.clock.now())
        return etag

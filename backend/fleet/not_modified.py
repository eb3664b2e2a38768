"""The terminal's conditional allowlist request, answered ahead of FastAPI when nothing changed.

Most of a day's allowlist requests are a terminal asking whether its bundle is still current. Their
answer is a bare 304 from one indexed read (the terminal's key joined to its school's change counter),
yet through FastAPI's router (every route tried), dependency solving and response machinery it cost more
than an unknown path's 404 (docs/scale.md, "Allowlist requests"). `AllowlistNotModified` answers exactly the case
"valid device token and If-None-Match naming the current ETag" itself and hands every other request —
no or bad token, another ETag, any error, any other path — to the app untouched, which then decides it
again from scratch (so each refusal keeps its reason code). Both use `current_etag` below: one rule.
"""

from __future__ import annotations

from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.context import AppContext
from shared_crypto.device_auth import HEADER

from .allowlist import etag_for_version, etag_matches
from .device_auth import authenticate_for_allowlist
from .model import TerminalIdentity

PATH = "/api/terminal/v1/allowlist"
_REQUEST_LINE = f"GET {PATH}"
_AUTH = HEADER.lower().encode("latin-1")


def validators(etag: str) -> dict[str, str]:
    """The headers a cached COSE answer carries, its 304 included."""
    return {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}


def current_etag(
    ctx: AppContext, header: str | None, request_line: str, now: datetime
) -> tuple[TerminalIdentity, str]:
    """The requesting terminal and the ETag of its school's current bundle, from one indexed read on an
    autocommit connection (no BEGIN, no ROLLBACK). Raises DeviceAuthError for a refused token."""
    with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        t, version = authenticate_for_allowlist(
            conn, header, request_line=request_line, now=int(now.timestamp())
        )
    return t, etag_for_version(ctx.keys, t.school_id, version, now)


class AllowlistNotModified:
    """ASGI middleware, outermost: a bare 304 for a current conditional allowlist request; all else to `app`."""

    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx

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
        try:
            _, etag = await run_in_threadpool(
                current_etag, self.ctx, token, _REQUEST_LINE, self.ctx.clock.now()
            )
        except Exception:  # a refused token, or any failure: the app answers it, with its reason and shape
            return None
        return etag if etag_matches(if_none_match, etag) else None

"""An ASGI app answering every request with the allowlist's bare 304 (same headers, a fixed ETag), with
no token check, no read and no FastAPI: served by uvicorn as the back end is, it is the floor under the
back end's 304 — what the HTTP server, the connection and the client cost that answer on this machine
in the same run (bench/bench_backend_allowlist.py)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from backend.fleet.not_modified import validators

_HEADERS = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in validators('"bare"').items()]


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            event = (await receive())["type"].removeprefix("lifespan.")
            await send({"type": f"lifespan.{event}.complete"})
            if event == "shutdown":
                return
    await send({"type": "http.response.start", "status": 304, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": b""})


def create_app() -> ASGIApp:
    return _answer

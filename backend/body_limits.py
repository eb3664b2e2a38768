"""Request body caps per route and a JSON nesting cap, enforced before the body reaches a handler.

A declared Content-Length over the cap is refused at once; a chunked body is counted as it arrives and
refused the moment it passes the cap, so memory never holds more than one cap's worth per request.
JSON bodies are scanned for nesting depth before parsing: a deep `[[[[…]]]]` costs the parser's
recursion, not the handler's time.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .error_shape import EdgeReason, error_response

DEFAULT_CAP = 64 * 1024
MAX_JSON_DEPTH = 32
TOO_LARGE = EdgeReason.TOO_LARGE
JSON_TOO_DEEP = EdgeReason.JSON_TOO_DEEP


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """True when brackets outside strings nest deeper than `limit` (a byte scan; no parsing)."""
    depth = 0
    in_string = escaped = False
    for b in body:
        if in_string:
            if escaped:
                escaped = False
            elif b == 0x5C:  # backslash
                escaped = True
            elif b == 0x22:  # quote
                in_string = False
        elif b == 0x22:
            in_string = True
        elif b in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif b in (0x5D, 0x7D):
            depth -= 1
    return False


class BodyLimits:
    """ASGI middleware. `caps`: (path prefix, bytes); the longest matching prefix wins, else `default`."""

    def __init__(
        self,
        app: ASGIApp,
        caps: Sequence[tuple[str, int]] = (),
        default: int = DEFAULT_CAP,
        max_json_depth: int = MAX_JSON_DEPTH,
    ) -> None:
        self.app = app
        self.caps = sorted(caps, key=lambda c: len(c[0]), reverse=True)
        self.default = default
        self.max_json_depth = max_json_depth

    def cap_for(self, path: str) -> int:
        return next((cap for prefix, cap in self.caps if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap_for(scope["path"])
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > cap:
            await error_response(TOO_LARGE, f"the body is over {cap} bytes", 413)(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                await error_response(TOO_LARGE, f"the body is over {cap} bytes", 413)(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type.endswith(b"json") and json_depth_exceeds(body, self.max_json_depth):
            detail = f"JSON nested deeper than {self.max_json_depth} levels"
            await error_response(JSON_TOO_DEEP, detail, 422)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

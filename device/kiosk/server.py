"""The kiosk page on the terminal's loopback interface: one page, its script and style, the state as
JSON, and server-sent events that push the whole state after every change.

The standard library's ThreadingHTTPServer is enough for one local browser, and it keeps the terminal
light (no web framework on the Pi; see docs/libraries.md). It listens on 127.0.0.1 only and refuses a
request whose Host is not the loopback name, so a web page elsewhere cannot read pupils' initials
through DNS rebinding. Nothing here writes: the page only shows what the terminal decided.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from .board import Board
from .texts import TEXTS

log = logging.getLogger(__name__)
DEFAULT_PORT = 8088
STATIC = {
    "/": ("kiosk.html", "text/html; charset=utf-8"),
    "/kiosk.js": ("kiosk.js", "text/javascript; charset=utf-8"),
    "/kiosk.css": ("kiosk.css", "text/css; charset=utf-8"),
}
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class KioskServer:
    """Serves `board` on http://127.0.0.1:`port`/ (port 0: any free port, see `.port`)."""

    def __init__(self, board: Board, *, port: int = DEFAULT_PORT, keepalive_s: float = 15.0) -> None:
        self.board = board
        self.keepalive_s = keepalive_s
        self.stopping = threading.Event()
        files = resources.files(__package__).joinpath("static")
        self.static = {
            path: (files.joinpath(name).read_bytes(), kind) for path, (name, kind) in STATIC.items()
        }
        self.texts = json.dumps({lang: dict(t) for lang, t in TEXTS.items()}, ensure_ascii=False).encode()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), partial(_Handler, self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.25,), name="kiosk", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def allowed_host(self, host: str | None) -> bool:
        return host in {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

    def start(self) -> None:
        self._thread.start()
        log.info("kiosk page on %s", self.url)

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    server_version = "school-meals-kiosk"

    def __init__(self, kiosk: KioskServer, *args: Any) -> None:
        self.kiosk = kiosk
        super().__init__(*args)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("kiosk %s: " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        if not self.kiosk.allowed_host(self.headers.get("Host")):
            self._send(HTTPStatus.FORBIDDEN, b"loopback only\n", "text/plain; charset=utf-8")
            return
        path = self.path.split("?", 1)[0]
        if path in self.kiosk.static:
            body, kind = self.kiosk.static[path]
            self._send(HTTPStatus.OK, body, kind)
        elif path == "/texts.json":
            self._send(HTTPStatus.OK, self.kiosk.texts, "application/json")
        elif path == "/state":
            self._send(HTTPStatus.OK, _json(self.kiosk.board.snapshot()), "application/json")
        elif path == "/events":
            self._events()
        elif path == "/healthz":
            self._send(HTTPStatus.OK, b"ok\n", "text/plain; charset=utf-8")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

    def do_POST(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"read only\n", "text/plain; charset=utf-8")

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _send(self, status: HTTPStatus, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for k, v in HEADERS.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _events(self) -> None:
        """The whole state now, then again after every change; a comment line keeps idle proxies and
        the browser's connection alive. The browser's EventSource reconnects by itself (`retry`)."""
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle delay per event
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        for k, v in HEADERS.items():
            self.send_header(k, v)
        self.end_headers()
        board, kiosk = self.kiosk.board, self.kiosk
        try:
            self.wfile.write(b"retry: 1000\n\n")
            seen = -1
            while not kiosk.stopping.is_set():
                version = board.wait(seen, kiosk.keepalive_s)
                if version == seen:
                    self.wfile.write(b": keep-alive\n\n")
                    continue
                seen = version
                self.wfile.write(b"id: %d\nevent: state\ndata: %s\n\n" % (version, _json(board.snapshot())))
        except (BrokenPipeError, ConnectionResetError):
            return  # the page went away (reload, browser restart)


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()

"""Token issuance answered ahead of FastAPI when every check passes: the pupil's pass refresh
(GET /pass/data.json) and the parent's single QR (POST /api/parent/v1/vouchers/{id}/qr).

Through FastAPI's router (every route tried), dependency solving, two thread-pool hops and an ORM unit of
work of five round trips, a pass refresh cost seven times its 36 signatures and a QR three 404s
(docs/scale.md, "Token issuance").
`FastIssuance` answers the success case itself, from one autocommit statement in one thread-pool hop
(`refresh_standing`, `issue_qr_for_session`: the session, the parent's scope, the voucher's state and
the serial are checked in that statement's WHERE), with the same status, headers and body as the routes.
Every other request — no or bad cookie or token, a body, a refused check, a pass's first refresh, any
error — goes to the app untouched, which decides it again from scratch, so each refusal keeps its reason
code and shape. A case the fast path declines has written nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.api_types import MAX_ID
from backend.context import AppContext
from backend.passes import services as passes
from backend.vouchers import services as vouchers
from backend.vouchers.api import QrOut

from .pupil_pass import DEVICE_COOKIE, json_answer, pass_body

DATA_PATH = "/pass/data.json"
_QR_PATH = re.compile(r"/api/parent/v1/vouchers/([1-9][0-9]{0,18})/qr")  # IdPath's plain spellings
_QR_OUT = TypeAdapter(QrOut)  # what FastAPI serialises the route's return value with
_JSON = (b"content-type", b"application/json")

Answer = tuple[bytes, list[tuple[bytes, bytes]]]  # a 200's body and headers


class FastIssuance:
    """ASGI middleware: a pass refresh or single QR that passes every check is answered here; all else
    goes to `app`."""

    def __init__(self, app: ASGIApp, ctx: AppContext, calendars: passes.Calendars) -> None:
        self.app = app
        self.ctx = ctx
        self.calendars = calendars
        self.qr_validity = timedelta(seconds=ctx.settings.qr_validity_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # root_path would change what the app routes on: leave that case to the app.
        if scope["type"] == "http" and not scope.get("root_path"):
            answer = None
            path, method = scope["path"], scope["method"]
            if method == "GET" and path == DATA_PATH:
                answer = await self._answer(scope, self._pass)
            elif method == "POST" and (m := _QR_PATH.fullmatch(path)) and int(m[1]) <= MAX_ID:
                voucher_id = int(m[1])
                answer = await self._answer(scope, lambda h: self._qr(h, voucher_id))
            if answer is not None:
                body, headers = answer
                headers = [*headers, (b"content-length", str(len(body)).encode()), _JSON]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    async def _answer(
        self, scope: Scope, issue: Callable[[dict[bytes, str]], Answer | None]
    ) -> Answer | None:
        headers: dict[bytes, str] = {}
        for name, value in scope["headers"]:  # the first of each, as Starlette's Headers.get reads them
            headers.setdefault(name, value.decode("latin-1"))
        if headers.get(b"content-length", "0") != "0" or b"transfer-encoding" in headers:
            return None  # a body: the app's body caps decide what to do with it
        try:
            return await run_in_threadpool(issue, headers)
        except Exception:  # any failure: the app answers it, with its reason and shape
            return None

    def _pass(self, headers: dict[bytes, str]) -> Answer | None:
        device = cookie_parser(headers.get(b"cookie", "")).get(DEVICE_COOKIE)
        if not device:
            return None
        pd = passes.refresh_standing(
            self.ctx.engine,
            self.ctx.standalone,
            self.ctx.keys,
            device,
            settings=self.ctx.settings.web,
            now=self.ctx.clock.now(),
            calendars=self.calendars,
        )
        if pd is None:
            return None
        raw, extra = json_answer(pass_body(pd), headers.get(b"accept-encoding", ""))
        return raw, [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]

    def _qr(self, headers: dict[bytes, str], voucher_id: int) -> Answer | None:
        scheme, _, token = headers.get(b"authorization", "").partition(" ")  # as bearer_token reads it
        if scheme.lower() != "bearer" or not token.strip():
            return None
        q = vouchers.issue_qr_for_session(
            self.ctx.standalone,
            self.ctx.keys,
            token.strip(),
            voucher_id,
            now=self.ctx.clock.now(),
            validity=self.qr_validity,
        )
        if q is None:
            return None
        out = QrOut.model_construct(
            qr=q.text, serial=q.serial, not_before=q.not_before, expires_at=q.expires_at
        )
        return _QR_OUT.dump_json(out), []

"""An in-process back end speaking docs/terminal-api.md, for httpx.MockTransport: the terminal's tests
and its month-offline soak (bench/soak_offline_month.py) sync against it."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from device.sim import scenario
from device.uploader import MAX_WALL_MS
from shared_crypto import (
    Bundle,
    KeyRole,
    TrustedKey,
    TrustStore,
    VerificationError,
    sign_bundle,
    sign_time,
    verify_batch,
    verify_device_auth,
)

API = "/api/terminal/v1"


@dataclass
class FakeBackend:
    keys: scenario.Keys
    now: Callable[[], int]
    bundle: bytes = b""
    trust_list: bytes = b""
    events: dict[bytes, object] = field(default_factory=dict)  # event id → event: idempotent store
    batches_received: int = 0
    duplicates_answered: int = 0
    requests: list[httpx.Request] = field(default_factory=list)
    health: list[dict[str, object]] = field(default_factory=list)
    lose_batch_responses: int = 0  # store the batch, then fail the response this many times
    fail_batches_with: list[int] = field(default_factory=list)  # status codes to answer, in turn
    time_nonce_override: bytes | None = None
    block: Callable[[], None] | None = None  # called at the start of each request (tests block here)

    def __post_init__(self) -> None:
        self.trust_list = self.trust_list or self.keys.trust_list()
        self._device_keys = TrustStore([TrustedKey(self.keys.device.public, KeyRole.DEVICE, 0, 2**32 - 1)])

    def set_bundle(self, b: Bundle) -> None:
        self.bundle = sign_bundle(self.keys.signer, b)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url="http://backend.test", transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.block is not None:
            self.block()
        path = request.url.path
        try:
            verify_device_auth(
                request.headers.get("X-SW-Device-Auth", ""),
                self._device_keys,
                request=f"{request.method} {path}",
                now=self.now(),
                leeway=300,
            )
        except VerificationError as e:
            return httpx.Response(401, json={"reason": e.reason.value, "server_time": self.now()})
        match request.method, path.removeprefix(API):
            case "GET", "/trust-list":
                return self._signed(request, self.trust_list)
            case "GET", "/allowlist":
                return self._signed(request, self.bundle)
            case "POST", "/time":
                nonce = self.time_nonce_override or request.content
                return httpx.Response(200, content=sign_time(self.keys.signer, now=self.now(), nonce=nonce))
            case "POST", "/meal-batches":
                return self._batch(request)
            case "POST", "/health":
                self.health.append(json.loads(request.content))
                return httpx.Response(200, json={"ok": True})
        return httpx.Response(404, json={"reason": "NOT_FOUND"})

    def _signed(self, request: httpx.Request, body: bytes) -> httpx.Response:
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        headers = {"ETag": etag, "Content-Type": "application/cose"}
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            return httpx.Response(
                200, content=gzip.compress(body), headers={**headers, "Content-Encoding": "gzip"}
            )
        return httpx.Response(200, content=body, headers=headers)

    def _batch(self, request: httpx.Request) -> httpx.Response:
        if self.fail_batches_with:
            return httpx.Response(self.fail_batches_with.pop(0), json={"reason": "TEST"})
        _, batch = verify_batch(request.content, self._device_keys, leeway=0)
        if any(e.wall_ms > MAX_WALL_MS for e in batch.events):  # what the server cannot date
            return httpx.Response(400, json={"reason": "EVENT_OUT_OF_RANGE", "detail": "wall time"})
        self.batches_received += 1
        accepted = duplicates = 0
        for e in batch.events:
            if e.event_id in self.events:
                duplicates += 1
            else:
                self.events[e.event_id] = e
                accepted += 1
        self.duplicates_answered += duplicates
        if self.lose_batch_responses:
            self.lose_batch_responses -= 1
            raise httpx.ReadError("connection reset after the server stored the batch")
        return httpx.Response(200, json={"accepted": accepted, "duplicates": duplicates, "flagged": 0})

"""Where a document goes: a file drop (a directory the receiving system collects from) or an HTTP JSON
endpoint. No real state endpoint is reachable from here; both are tested against local stand-ins."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Protocol

import httpx


class DeliveryError(Exception):
    """The document was not taken; it will be sent again later."""


class Sink(Protocol):
    def send(self, key: str, document: dict[str, Any]) -> str:
        """Hands over one document under its idempotency key; returns the receipt, raises DeliveryError."""
        ...


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class FileDropSink:
    """Writes `<key>.json` atomically (temporary file, fsync, rename) into `directory`; the receipt is the
    file name and the SHA-256 of its bytes. Sending the same key again rewrites the same bytes."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory

    def send(self, key: str, document: dict[str, Any]) -> str:
        body = canonical(document)
        name = _SAFE.sub("_", key) + ".json"
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            tmp = self._dir / f".{name}.tmp"
            with open(tmp, "wb") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._dir / name)
        except OSError as exc:
            raise DeliveryError(f"file drop failed: {exc}") from exc
        return f"file:{name}:sha256:{hashlib.sha256(body).hexdigest()}"


class HttpJsonSink:
    """POSTs the document as JSON with `Idempotency-Key` and a Bearer token; a 2xx answer must carry
    `{"receipt": "..."}`. Anything else (a timeout, 5xx, 4xx, no receipt) is a DeliveryError."""

    def __init__(self, url: str, token: str | None = None, *, client: httpx.Client | None = None) -> None:
        self._url = url
        self._token = token
        self._client = client or httpx.Client(timeout=10.0)

    def send(self, key: str, document: dict[str, Any]) -> str:
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            r = self._client.post(self._url, content=canonical(document), headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if not 200 <= r.status_code < 300:
            raise DeliveryError(f"HTTP {r.status_code}: {r.text[:200]}")
        try:
            receipt = r.json()["receipt"]
        except (ValueError, KeyError, TypeError):
            raise DeliveryError("answer carries no receipt") from None
        if not isinstance(receipt, str) or not receipt:
            raise DeliveryError("answer carries no receipt")
        return receipt[:200]

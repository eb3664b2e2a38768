"""SMS gateway interface and its two adapters: a development outbox and a provider-neutral HTTP one."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Protocol

import httpx


class SmsSendError(Exception):
    """The provider refused or could not be reached; the message stays queued for the next dispatch."""


class SmsGateway(Protocol):
    def send(self, message_id: int, phone: str, body: str) -> str:
        """Hand one message to the network; returns the provider's id. `message_id` is an idempotency key."""
        ...


class OutboxGateway:
    """Development adapter: messages stay in the sms_messages table (admin endpoint) and, if a path is
    given, are appended to a JSON-lines file."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()

    def send(self, message_id: int, phone: str, body: str) -> str:
        if self._path is not None:
            line = json.dumps({"id": message_id, "phone": phone, "body": body}, ensure_ascii=False)
            with self._lock:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                with self._path.open("a", encoding="utf-8") as f:
                    f.write(line + "\n")
        return f"outbox-{message_id}"


class HttpSmsGateway:
    """Posts `{"id", "to", "text"}` as JSON with a bearer token; expects 2xx with an optional `{"id"}`.

    The message id goes along so a provider can drop a retry of a message it already took.
    """

    def __init__(
        self, url: str, token: str, client: httpx.Client | None = None, timeout: float = 10.0
    ) -> None:
        self._url = url
        self._token = token
        self._client = client or httpx.Client(timeout=timeout)

    def send(self, message_id: int, phone: str, body: str) -> str:
        try:
            resp = self._client.post(
                self._url,
                json={"id": str(message_id), "to": phone, "text": body},
                headers={"Authorization": f"Bearer {self._token}", "Idempotency-Key": str(message_id)},
            )
        except httpx.HTTPError as exc:
            raise SmsSendError(f"SMS provider unreachable: {exc}") from exc
        if resp.status_code // 100 != 2:
            raise SmsSendError(f"SMS provider answered {resp.status_code}: {resp.text[:200]}")
        try:
            data = resp.json()
        except ValueError:
            data = {}
        provider_id = data.get("id") if isinstance(data, dict) else None
        return str(provider_id) if provider_id is not None else str(message_id)

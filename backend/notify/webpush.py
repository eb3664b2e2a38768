"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291), via pywebpush.

The VAPID key is the back end's own P-256 key, made on first use in the key directory; browsers
subscribe with its public half (the page hands it to PushManager.subscribe).
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

VAPID_FILE = "vapid-p256.pem"
TTL_SECONDS = 24 * 3600  # a push service keeps an undelivered notice for a day


def vapid_key(key_dir: Path) -> Vapid02:
    """The VAPID signing key, created (mode 0600) the first time it is needed. Several server
    processes may ask at once: each writes a whole key to its own file and links it into place, so
    exactly one wins and none reads a half-written file."""
    path = key_dir / VAPID_FILE
    if not path.exists():
        key_dir.mkdir(parents=True, exist_ok=True)
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd, tmp = tempfile.mkstemp(dir=key_dir, prefix=".vapid-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):  # another process linked its key first
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return Vapid02.from_file(str(path))


def application_server_key(key: Vapid02) -> str:
    """The public key as browsers take it: the uncompressed point, base64url without padding."""
    raw = key.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True, slots=True)
class PushResult:
    status: int | None  # the push service's HTTP status; None when it could not be reached
    detail: str = ""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """The subscription expired or was withdrawn: remove it (RFC 8030 §7.3)."""
        return self.status in (404, 410)

    @property
    def retry(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


class PushSender(Protocol):
    def send(self, subscription: Subscription, payload: bytes) -> PushResult: ...


class WebPushSender:
    """Encrypts and posts one payload per subscription; the push service's answer is the result."""

    def __init__(self, key: Vapid02, subject: str, *, timeout: float = 10.0) -> None:
        self._key = key
        self._claims = {"sub": subject}
        self._timeout = timeout
        self._http = requests.Session()

    def send(self, subscription: Subscription, payload: bytes) -> PushResult:
        try:
            response = webpush(
                {
                    "endpoint": subscription.endpoint,
                    "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
                },
                data=payload.decode(),
                vapid_private_key=self._key,
                vapid_claims=dict(self._claims),  # pywebpush fills in "aud" and "exp" per endpoint
                ttl=TTL_SECONDS,
                timeout=self._timeout,
                requests_session=self._http,
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            return PushResult(status, str(exc)[:300])
        except requests.RequestException as exc:
            return PushResult(None, str(exc)[:300])
        status = getattr(response, "status_code", None)
        return PushResult(int(status) if status is not None else None)

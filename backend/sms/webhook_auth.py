"""Authenticating the SMS provider's inbound webhook.

With `SM_SMS_WEBHOOK_SECRET` the provider signs each call: `X-SMS-Timestamp` (Unix seconds) and
`X-SMS-Signature` = hex HMAC-SHA256(secret, timestamp + "." + raw body). A call older or newer than the
window is refused, and so is a second call with a signature already seen (the caller records it with
the reply, so a replay inside the window is refused too). With only `SM_SMS_WEBHOOK_TOKEN`, the shared
token in `X-SMS-Token` is the minimum. With neither (development only; production refuses to start),
any call is taken.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from backend.config import Settings
from backend.errors import DomainError


class WebhookReason(enum.StrEnum):
    UNAUTHENTICATED = "WEBHOOK_UNAUTHENTICATED"  # no, or a wrong, token or signature
    EXPIRED = "WEBHOOK_SIGNATURE_EXPIRED"  # the signed timestamp is outside the replay window
    REPLAYED = "WEBHOOK_SIGNATURE_REPLAYED"  # the same signed call a second time


@dataclass(frozen=True, slots=True)
class WebhookProof:
    signature: str | None  # recorded with the reply so the same signed call cannot be replayed


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def authenticate(
    settings: Settings,
    body: bytes,
    *,
    token: str | None,
    timestamp: str | None,
    signature: str | None,
    now: datetime,
) -> WebhookProof:
    if settings.sms_webhook_secret:
        if not (timestamp and timestamp.isdigit() and len(timestamp) <= 12 and signature):
            raise DomainError(
                WebhookReason.UNAUTHENTICATED, "X-SMS-Timestamp and X-SMS-Signature are required"
            )
        expected = sign(settings.sms_webhook_secret, int(timestamp), body)
        if not hmac.compare_digest(expected, signature.strip().lower()):
            raise DomainError(WebhookReason.UNAUTHENTICATED, "bad webhook signature")
        if abs(now.timestamp() - int(timestamp)) > settings.sms_webhook_window_seconds:
            raise DomainError(WebhookReason.EXPIRED, "the signed timestamp is outside the window")
        return WebhookProof(expected)
    if settings.sms_webhook_token is not None and not hmac.compare_digest(
        settings.sms_webhook_token.encode(), (token or "").encode()
    ):
        raise DomainError(WebhookReason.UNAUTHENTICATED, "bad webhook token")
    return WebhookProof(None)

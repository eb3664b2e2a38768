"""Settings of the web pages and the pupil's pass (prefix SM_), held by `Settings.web`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


def _flag(value: str) -> bool:
    return value.strip().lower() not in {"0", "false", "no", "off", ""}


@dataclass(frozen=True, slots=True)
class WebSettings:
    # Cookies carry the Secure flag unless turned off for a plain-http loopback server (dev, tests).
    cookie_secure: bool = True
    # HMAC key of the CSRF tokens; must be set in production.
    secret: bytes = b"dev-only-web-secret"
    # A pass token is good for one window of this many seconds; the terminal adds its own leeway.
    pass_window_seconds: int = 300
    # How many coming school days a pass holds tokens for.
    pass_school_days: int = 5
    # How long a one-time pass link may wait to be opened.
    pass_link_ttl_seconds: int = 1800
    # VAPID "sub" claim: who the push services may contact about this sender.
    vapid_subject: str = "mailto:support@social-wallet.example.kz"
    # A notice a push service keeps refusing is given up after this many tries.
    push_max_attempts: int = 6

    @classmethod
    def from_env(cls, e: Mapping[str, str]) -> WebSettings:
        d = cls()
        return cls(
            cookie_secure=_flag(e.get("SM_COOKIE_SECURE", "1")),
            secret=e.get("SM_WEB_SECRET", d.secret.decode()).encode(),
            pass_window_seconds=int(e.get("SM_PASS_WINDOW_SECONDS", d.pass_window_seconds)),
            pass_school_days=int(e.get("SM_PASS_SCHOOL_DAYS", d.pass_school_days)),
            pass_link_ttl_seconds=int(e.get("SM_PASS_LINK_TTL_SECONDS", d.pass_link_ttl_seconds)),
            vapid_subject=e.get("SM_VAPID_SUBJECT", d.vapid_subject),
            push_max_attempts=int(e.get("SM_PUSH_MAX_ATTEMPTS", d.push_max_attempts)),
        )

"""Settings read from the environment (prefix SM_). One frozen object passed everywhere, no globals.

Secrets (the pseudonym secret, the SMS webhook secret and token, the SMS provider token) come from the
variable itself or from a file named by the same variable with `_FILE` appended (container and systemd
credentials), never from the repository. `SM_ENV` is `production` unless set otherwise: started from the
environment the app and the worker are safe by default (backend.safety refuses unsafe settings).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .web_settings import WebSettings


@dataclass(frozen=True, slots=True)
class Settings:
    # "production" refuses unsafe settings at start-up (backend.safety); programs that build Settings
    # themselves (tests, the demo, the OpenAPI writer) are development unless they say otherwise.
    env: str = "development"
    database_url: str = "sqlite:///var/backend.db"
    # Threads per process that run the sync routes and dependencies (anyio's limiter, 40 by default).
    # Each holds at most one pooled connection, and more threads than cores only queue on the GIL: a few
    # threads serve a local PostgreSQL's round trips as fast as many, with less switching.
    request_threads: int = 16
    # PostgreSQL connection pool per process (backend/db.py). Connections above the pool size are closed
    # when returned, so a pool smaller than the requests in flight reconnects under load: the pool holds a
    # connection per request thread, plus a few for the work on the event loop's side (after-response tasks).
    db_pool_size: int = 20
    db_max_overflow: int = 10
    # A round trip before every checkout; off behind PgBouncer, which checks its server connections itself.
    db_pre_ping: bool = True
    # Server-side prepared statements; off behind PgBouncer in transaction pooling (SM_DB_PREPARED=0).
    db_prepared_statements: bool = True
    # A streaming replica for reports and parents' histories, used while at most this many seconds behind.
    replica_url: str | None = None
    replica_max_lag_seconds: float = 5.0
    key_dir: Path = Path("var/keys")
    # How old the terminal map (backend/fleet/terminal_map.py) may be when it answers an allowlist 304
    # without a read: a terminal retired or a school's bundle changed is seen that long after at most.
    # 0 turns the map off (every 304 reads the terminal and its school's counter).
    allowlist_map_seconds: float = 1.0
    # Reply codes of the consent SMS; the order's 3#1/3#2 by default, the memo's 2*1/2*5 configurable.
    reply_agree: str = "3#1"
    reply_decline: str = "3#2"
    # HMAC secret for pupil pseudonyms shown to terminals; must be set in production.
    pseudonym_secret: bytes = b"dev-only-pseudonym-secret"
    qr_validity_seconds: int = 3600
    session_ttl_seconds: int = 8 * 3600
    otp_ttl_seconds: int = 300
    reminder_after_days: int = 3
    close_after_days: int = 3
    # The order's link to the Social Wallet in eGov Mobile, sent in the "agreed" SMS.
    wallet_link: str = "https://egovmobile.page.link/socwallet"
    sms_outbox_file: Path | None = None
    sms_http_url: str | None = None
    sms_http_token: str | None = None
    # Shared secret the SMS provider sends with inbound replies (X-SMS-Token); None accepts any (dev only).
    sms_webhook_token: str | None = None
    # HMAC-SHA256 key of the provider's signature over timestamp and body (X-SMS-Signature, X-SMS-Timestamp);
    # when set, a signature is required and the token alone is not enough.
    sms_webhook_secret: bytes | None = None
    sms_webhook_window_seconds: int = 300
    # Vouchers are valid to the end of the school year: May 31 unless configured.
    school_year_end_month: int = 5
    school_year_end_day: int = 31
    # State categories register export (CSV/JSON) for the eligibility cross-check; None: empty register.
    state_registry_file: Path | None = None
    web: WebSettings = field(default_factory=WebSettings)  # parent pages and the pupil's pass
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)
        d = cls()
        webhook_secret = _secret(e, "SM_SMS_WEBHOOK_SECRET")
        outbox = e.get("SM_SMS_OUTBOX_FILE")
        registry = e.get("SM_STATE_REGISTRY_FILE")
        return cls(
            env=e.get("SM_ENV", "production").strip().lower(),
            database_url=e.get("SM_DATABASE_URL", d.database_url),
            request_threads=int(e.get("SM_REQUEST_THREADS", d.request_threads)),
            db_pool_size=int(e.get("SM_DB_POOL_SIZE", d.db_pool_size)),
            db_max_overflow=int(e.get("SM_DB_MAX_OVERFLOW", d.db_max_overflow)),
            db_pre_ping=_flag(e.get("SM_DB_PRE_PING"), d.db_pre_ping),
            db_prepared_statements=_flag(e.get("SM_DB_PREPARED"), d.db_prepared_statements),
            replica_url=e.get("SM_REPLICA_URL") or None,
            replica_max_lag_seconds=float(e.get("SM_REPLICA_MAX_LAG_SECONDS", d.replica_max_lag_seconds)),
            key_dir=Path(e.get("SM_KEY_DIR", str(d.key_dir))),
            allowlist_map_seconds=float(e.get("SM_ALLOWLIST_MAP_SECONDS", d.allowlist_map_seconds)),
            reply_agree=e.get("SM_REPLY_AGREE", d.reply_agree),
            reply_decline=e.get("SM_REPLY_DECLINE", d.reply_decline),
            pseudonym_secret=(_secret(e, "SM_PSEUDONYM_SECRET") or d.pseudonym_secret.decode()).encode(),
            qr_validity_seconds=int(e.get("SM_QR_VALIDITY_SECONDS", d.qr_validity_seconds)),
            session_ttl_seconds=int(e.get("SM_SESSION_TTL_SECONDS", d.session_ttl_seconds)),
            otp_ttl_seconds=int(e.get("SM_OTP_TTL_SECONDS", d.otp_ttl_seconds)),
            reminder_after_days=int(e.get("SM_REMINDER_AFTER_DAYS", d.reminder_after_days)),
            close_after_days=int(e.get("SM_CLOSE_AFTER_DAYS", d.close_after_days)),
            wallet_link=e.get("SM_WALLET_LINK", d.wallet_link),
            sms_outbox_file=Path(outbox) if outbox else None,
            sms_http_url=e.get("SM_SMS_HTTP_URL"),
            sms_http_token=_secret(e, "SM_SMS_HTTP_TOKEN"),
            sms_webhook_token=_secret(e, "SM_SMS_WEBHOOK_TOKEN"),
            sms_webhook_secret=webhook_secret.encode() if webhook_secret else None,
            sms_webhook_window_seconds=int(
                e.get("SM_SMS_WEBHOOK_WINDOW_SECONDS", d.sms_webhook_window_seconds)
            ),
            school_year_end_month=int(e.get("SM_SCHOOL_YEAR_END_MONTH", d.school_year_end_month)),
            school_year_end_day=int(e.get("SM_SCHOOL_YEAR_END_DAY", d.school_year_end_day)),
            state_registry_file=Path(registry) if registry else None,
            web=WebSettings.from_env(e),
            extra={k: v for k, v in e.items() if k.startswith("SM_X_")},
        )


def _flag(value: str | None, default: bool) -> bool:
    return default if value is None else value.strip().lower() not in {"0", "false", "no", "off"}


def _secret(e: dict[str, str], name: str) -> str | None:
    """`name` itself, else the content of the file `name_FILE` (trailing newline dropped); None if neither."""
    if value := e.get(name):
        return value
    path = e.get(f"{name}_FILE")
    if not path:
        return None
    return Path(path).read_text(encoding="utf-8").rstrip("\r\n") or None

"""Start-up refusal of unsafe settings in production: one line per problem, for the app and the worker.

Why each check exists (docs/security.md): a pupil pseudonym is HMAC(secret, IIN) over a space of about
10⁸ school-age IINs, so a known or short secret names every pupil of a terminal's allowlist in minutes;
an unauthenticated SMS webhook lets anyone give consent for any parent; a key readable by other users
lets them sign allowlists and QR tokens; SQLite has no concurrent writers and no server-side backups.
"""

from __future__ import annotations

import stat
from pathlib import Path

from .config import Settings
from .db import is_sqlite

PRODUCTION = "production"
MIN_SECRET_BYTES = 32
MIN_DISTINCT_BYTES = 16  # a 32-byte string of a few repeated characters is not random
DEFAULT_PSEUDONYM_SECRET = Settings().pseudonym_secret


class UnsafeSettings(SystemExit):
    """Raised by create_app in production; as a SystemExit it ends uvicorn or the worker with the lines."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "refusing to start with SM_ENV=production:\n" + "\n".join(f"- {p}" for p in problems)
        )


def _exposed(path: Path) -> bool:
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def production_problems(settings: Settings) -> list[str]:
    problems: list[str] = []
    secret = settings.pseudonym_secret
    if secret == DEFAULT_PSEUDONYM_SECRET:
        problems.append("SM_PSEUDONYM_SECRET is the built-in development value; set a random one (or _FILE)")
    elif len(secret) < MIN_SECRET_BYTES or len(set(secret)) < MIN_DISTINCT_BYTES:
        problems.append(
            f"SM_PSEUDONYM_SECRET must be at least {MIN_SECRET_BYTES} random bytes"
            f" (e.g. `openssl rand -hex 32`); it has {len(secret)} bytes, {len(set(secret))} distinct"
        )
    if not settings.sms_webhook_secret and not settings.sms_webhook_token:
        problems.append(
            "the SMS webhook is unauthenticated: set SM_SMS_WEBHOOK_SECRET (HMAC) or at least SM_SMS_WEBHOOK_TOKEN"
        )
    if settings.sms_webhook_secret and len(settings.sms_webhook_secret) < MIN_SECRET_BYTES:
        problems.append(f"SM_SMS_WEBHOOK_SECRET must be at least {MIN_SECRET_BYTES} bytes")
    key_dir = settings.key_dir
    if key_dir.exists():
        if _exposed(key_dir):
            problems.append(f"key directory {key_dir} is open to group or others (chmod 700)")
        for pem in sorted(key_dir.glob("*.pem")):
            if _exposed(pem):
                problems.append(f"private key {pem} is readable by group or others (chmod 600)")
    if is_sqlite(settings.database_url):
        problems.append("SM_DATABASE_URL is SQLite; production runs on PostgreSQL")
    return problems


def check_production(settings: Settings) -> None:
    if settings.env != PRODUCTION:
        return
    problems = production_problems(settings)
    if problems:
        raise UnsafeSettings(problems)

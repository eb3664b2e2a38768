"""`make serve`: the back end with the demo district on a local SQLite file, to try the pages by hand.

`python -m demo.serve` migrates the database (Alembic head), seeds the demo district once (a second
start finds it and keeps what was done in it), prints how each demo parent and each staff account
signs in, and serves http://127.0.0.1:8000 (`SM_PORT` changes the port). Data lives in ./var/serve
(`SM_SERVE_DIR`); any other SM_ setting (`SM_DATABASE_URL` too) is read as the back end reads it.
Sign-in codes go to the SMS outbox file and are printed on this console, as the parent's phone
would show them. The worker's tick (timers, voucher expiry, parents' notices, the SMS outbox) runs
beside the server every `SM_SERVE_WORKER_SECONDS` (10; 0 turns it off), so notices appear as they
would in production.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import uvicorn
from fastapi import FastAPI

from backend.adapters.sms_gateways import OutboxGateway
from backend.adapters.state_registry import InMemoryRegistry
from backend.app import create_app
from backend.auth.model import Role
from backend.config import Settings
from backend.context import AppContext
from backend.db import init_schema
from backend.worker import tick
from demo import data as D
from demo.district import DemoDistrict, seed

HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_DIR = Path("var/serve")
DEFAULT_WORKER_SECONDS = 10.0
API_SIGN_IN = "POST /api/auth/v1/admin/login {login, password}; the token goes in /docs (Authorize)"


class ConsoleSms(OutboxGateway):
    """The development outbox, also echoed on the console: the sign-in code is read there."""

    def __init__(self, path: Path, out: Callable[[str], None]) -> None:
        super().__init__(path)
        self._out = out

    def send(self, message_id: int, phone: str, body: str) -> str:
        self._out(f"SMS to {phone}: {body}")
        return super().send(message_id, phone, body)


def serve_settings(data_dir: Path, env: Mapping[str, str]) -> Settings:
    """The back end's own settings from the environment, with local defaults under `data_dir`:
    the SQLite file, the keys, the SMS outbox, and cookies without Secure (plain http on loopback).
    A try-out on loopback with demo data runs as development (docs/security.md: production refuses
    SQLite and the built-in secrets); SM_ENV in the environment still wins."""
    local = {
        "SM_ENV": "development",
        "SM_DATABASE_URL": f"sqlite:///{data_dir / 'backend.db'}",
        "SM_KEY_DIR": str(data_dir / "keys"),
        "SM_SMS_OUTBOX_FILE": str(data_dir / "sms.jsonl"),
        "SM_COOKIE_SECURE": "0",
    }
    return Settings.from_env({**local, **env})


@dataclass
class Prepared:
    app: FastAPI
    district: DemoDistrict
    settings: Settings


def prepare(data_dir: Path, env: Mapping[str, str], out: Callable[[str], None]) -> Prepared:
    """Migrate, build the app, seed the district: everything but the listening socket."""
    settings = serve_settings(data_dir, env)
    init_schema(settings.database_url)
    registry = InMemoryRegistry()  # the demo's state register; the seed fills it
    sms = ConsoleSms(settings.sms_outbox_file or data_dir / "sms.jsonl", out)
    app = create_app(settings, sms=sms, registry=registry)
    ctx = app.state.ctx
    district = seed(ctx.session_factory, settings, registry, ctx.clock.now())
    return Prepared(app, district, settings)


def staff_sign_ins(district: DemoDistrict) -> list[tuple[Role, str, str]]:
    """(role, login, where it signs in) for each staff account the seed made: today the API."""
    return [(role, login, "/docs") for login, role in district.staff]


def sign_in_help(district: DemoDistrict, url: str) -> str:
    lines = [
        f"School meals back end with the demo district: {url}/",
        "",
        f"Parents — open {url}/ on a phone-sized window, enter the number, then the 6-digit code",
        "printed here as an SMS:",
    ]
    for name, phone, children in district.parents:
        if phone:
            lines.append(f"  {phone}  {name} ({', '.join(children)})")
        else:
            lines.append(f"  (no phone on record — cannot sign in)  {name} ({', '.join(children)})")
    lines += ["", f"Staff — password {D.PASSWORD} for every account; {API_SIGN_IN}:"]
    for role, login, where in staff_sign_ins(district):
        lines.append(f"  {role.value:<18} login {login:<18} {url}{where}")
    lines += ["", f"API explorer: {url}/docs · stop with Ctrl-C"]
    return "\n".join(lines)


def start_worker(ctx: AppContext, interval: float, say: Callable[[str], None]) -> threading.Event:
    """The worker's tick on a daemon thread until the returned event is set; a failing tick is
    printed and the next one runs (a development server should not die of one)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            try:
                tick(ctx)
            except Exception:  # shown on the console; the server keeps going
                say("worker tick failed:\n" + traceback.format_exc())

    threading.Thread(target=loop, name="serve-worker", daemon=True).start()
    return stop


def main(env: Mapping[str, str] | None = None, stdout: TextIO | None = None) -> int:
    env = dict(os.environ if env is None else env)
    out = stdout or sys.stdout

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    port = int(env.get("SM_PORT", DEFAULT_PORT))
    prepared = prepare(Path(env.get("SM_SERVE_DIR", str(DEFAULT_DIR))), env, say)
    interval = float(env.get("SM_SERVE_WORKER_SECONDS", DEFAULT_WORKER_SECONDS))
    stop = start_worker(prepared.app.state.ctx, interval, say) if interval > 0 else None
    say(sign_in_help(prepared.district, f"http://{HOST}:{port}"))
    try:
        uvicorn.run(prepared.app, host=HOST, port=port, log_level="warning")
    finally:
        if stop is not None:
            stop.set()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

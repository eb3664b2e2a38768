"""The FastAPI application factory: one AppContext, every router present, errors as {"reason", "detail"}."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI

from shared_crypto.meal_batch import MAX_BATCH

from .adapters.sms_gateways import SmsGateway
from .adapters.state_registry import StateRegistry
from .body_limits import BodyLimits
from .clock import Clock
from .collector import pace_for_serving
from .config import Settings
from .context import build_context
from .db import check_schema
from .fleet.not_modified import AllowlistNotModified
from .http_errors import install_error_handlers
from .imports.api import MAX_UPLOAD
from .imports.jobs import reap_stale
from .openapi_contract import install_openapi
from .passes.services import Calendars
from .safety import check_production
from .web.fast_issuance import FastIssuance

# Like TABLE_MODULES: each module exposes `router`.
ROUTER_MODULES = (
    "backend.auth.api",
    "backend.eligibility.api",
    "backend.campaign.api",
    "backend.imports.api",
    "backend.consent.api",
    "backend.vouchers.api",
    "backend.admin.api",
    "backend.admin.staff",
    "backend.fleet.api",
    "backend.fleet.cards",
    "backend.calendar.api",
    "backend.ingest.api",
    "backend.feedback.api",
    "backend.reporting.api",
    "backend.billing.api",
    "backend.web.router",  # the parent's pages and the pupil's pass (server-rendered)
    "backend.billing.steps_api",
    "backend.campaign.year_api",
    "backend.menu.api",
)

# Request body caps by path prefix (bytes); every other route takes at most body_limits.DEFAULT_CAP.
BODY_CAPS = (
    ("/api/admin/v1/imports/", MAX_UPLOAD + 64 * 1024),
    ("/staff/imports", MAX_UPLOAD + 64 * 1024),  # the console's upload form: the same file, as multipart
    ("/api/terminal/v1/meal-batches", MAX_BATCH),
)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    sms: SmsGateway | None = None,
    notifier: Any = None,
    registry: StateRegistry | None = None,
) -> FastAPI:
    settings = settings or Settings.from_env()
    check_production(settings)  # before any database or key store is opened
    ctx = build_context(settings, clock=clock, sms=sms, notifier=notifier, registry=registry)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        check_schema(ctx.engine)  # an unmigrated database stops the server at start, not at a request
        pace_for_serving()  # the collector's pace for request handling (backend/collector.py)
        reap_stale(ctx.session_factory, ctx.clock.now())  # imports whose runner died with the last server
        to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        yield
        ctx.standalone.close()  # the request threads' own connections, which the pool does not hold

    app = FastAPI(
        lifespan=lifespan,
        title="School meals — Social Wallet back end",
        version="1.0",
        description="Eligibility lists, SMS consent, vouchers and QR issuance; terminal sync; reporting.",
    )
    app.state.ctx = ctx
    app.state.pass_calendars = Calendars()  # this process's schools' calendars for the pupils' passes

    install_error_handlers(app)
    app.add_middleware(BodyLimits, caps=BODY_CAPS)
    # Added last, so it runs first: a terminal's current conditional allowlist request is answered
    # before body caps, routing and dependency solving; every other request passes through untouched.
    app.add_middleware(AllowlistNotModified, ctx=ctx)
    app.add_middleware(FastIssuance, ctx=ctx, calendars=app.state.pass_calendars)
    for name in ROUTER_MODULES:
        app.include_router(importlib.import_module(name).router)
    install_openapi(app)
    return app

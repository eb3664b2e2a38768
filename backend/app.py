"""The FastAPI application factory: one AppContext, every router present, errors as {"reason", "detail"}."""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import FastAPI

from shared_crypto.meal_batch import MAX_BATCH

from .body_limits import BodyLimits
from .clock import Clock, SystemClock
from .config import Settings
from .context import AppContext
from .db import make_engine, make_session_factory
from .http_errors import install_error_handlers
from .imports.api import MAX_UPLOAD
from .keys import KeyStore
from .openapi_contract import install_openapi
from .safety import check_production
from .sms.gateway import HttpSmsGateway, OutboxGateway, SmsGateway
from .wallet.registry import FileRegistry, InMemoryRegistry, StateRegistry

# Like TABLE_MODULES: each module exposes `router`.
ROUTER_MODULES = (
    "backend.auth.api",
    "backend.wallet.api",
    "backend.imports.api",
    "backend.consent.api",
    "backend.vouchers.api",
    "backend.admin.api",
    "backend.fleet.api",
    "backend.ingest.api",
    "backend.feedback.api",
    "backend.reporting.api",
    "backend.billing.api",
)

# Request body caps by path prefix (bytes); every other route takes at most body_limits.DEFAULT_CAP.
BODY_CAPS = (
    ("/api/admin/v1/imports/", MAX_UPLOAD + 64 * 1024),
    ("/api/terminal/v1/meal-batches", MAX_BATCH),
    ("/api/admin/v1/cards/register", 1024 * 1024),
)


def default_sms(settings: Settings) -> SmsGateway:
    if settings.sms_http_url and settings.sms_http_token:
        return HttpSmsGateway(settings.sms_http_url, settings.sms_http_token)
    return OutboxGateway(settings.sms_outbox_file)


def default_registry(settings: Settings) -> StateRegistry:
    if settings.state_registry_file is not None:
        return FileRegistry(settings.state_registry_file)
    return InMemoryRegistry()


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
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    ctx = AppContext(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        clock=clock,
        keys=KeyStore(settings.key_dir, clock),
        sms=sms or default_sms(settings),
        notifier=notifier,
        registry=registry or default_registry(settings),
    )
    app = FastAPI(
        title="School meals — Social Wallet back end",
        version="1.0",
        description="Eligibility lists, SMS consent, vouchers and QR issuance; terminal sync; reporting.",
    )
    app.state.ctx = ctx

    install_error_handlers(app)
    app.add_middleware(BodyLimits, caps=BODY_CAPS)
    for name in ROUTER_MODULES:
        app.include_router(importlib.import_module(name).router)
    install_openapi(app)
    return app

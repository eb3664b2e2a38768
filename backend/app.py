"""The FastAPI application factory: one AppContext, every router present, errors as {"reason", "detail"}."""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .clock import Clock, SystemClock
from .config import Settings
from .context import AppContext
from .db import ReadSessions, engine_options, make_engine, make_session_factory
from .errors import DomainError
from .keys import KeyStore
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
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url, **engine_options(settings, settings.database_url))
    primary = make_session_factory(engine)
    replica = None
    if settings.replica_url:
        replica = make_session_factory(
            make_engine(settings.replica_url, **engine_options(settings, settings.replica_url))
        )
    ctx = AppContext(
        settings=settings,
        engine=engine,
        session_factory=primary,
        read_session_factory=ReadSessions(primary, replica, max_lag=settings.replica_max_lag_seconds),
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

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"reason": exc.reason, "detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"reason": "INVALID_REQUEST", "detail": detail[:1000]}, status_code=422)

    for name in ROUTER_MODULES:
        app.include_router(importlib.import_module(name).router)
    return app

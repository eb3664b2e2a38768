"""The FastAPI application factory: one AppContext, every router present, errors as {"reason", "detail"}."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .adapters.sms_gateways import SmsGateway
from .adapters.state_registry import StateRegistry
from .clock import Clock
from .config import Settings
from .context import build_context
from .errors import CommonReason, DomainError
from .http_errors import UnmappedReason, status_of

log = logging.getLogger(__name__)

# Like TABLE_MODULES: each module exposes `router`.
ROUTER_MODULES = (
    "backend.auth.api",
    "backend.eligibility.api",
    "backend.campaign.api",
    "backend.imports.api",
    "backend.consent.api",
    "backend.vouchers.api",
    "backend.admin.api",
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


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    sms: SmsGateway | None = None,
    notifier: Any = None,
    registry: StateRegistry | None = None,
) -> FastAPI:
    ctx = build_context(
        settings or Settings.from_env(), clock=clock, sms=sms, notifier=notifier, registry=registry
    )
    app = FastAPI(
        title="School meals — Social Wallet back end",
        version="1.0",
        description="Eligibility lists, SMS consent, vouchers and QR issuance; terminal sync; reporting.",
    )
    app.state.ctx = ctx

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        try:
            status = status_of(exc)
        except UnmappedReason:
            log.exception("reason without a status")
            status = 500
        return JSONResponse({"reason": exc.reason, "detail": exc.detail, **exc.extra}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return JSONResponse(
            {"reason": CommonReason.INVALID_REQUEST, "detail": detail[:1000]}, status_code=422
        )

    for name in ROUTER_MODULES:
        app.include_router(importlib.import_module(name).router)
    return app

"""Ingestion HTTP: `POST /api/terminal/v1/meal-batches` and the admin's review of flagged meals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from backend.api_types import IdQuery
from backend.auth import Principal, Role, ensure_school, require_admin
from backend.context import AppContext
from backend.deps import CtxDep, UowDep
from backend.error_shape import errors
from backend.errors import DomainError, not_found
from backend.fleet.device_auth import require_terminal
from backend.fleet.model import TerminalIdentity
from backend.notify.model import Notifier
from backend.notify.outbox import OutboxNotifier
from shared_crypto.meal_batch import MAX_BATCH

from . import review, services
from .model import Decision
from .school_facts import SchoolFactsCache

terminal = APIRouter(prefix="/api/terminal/v1", tags=["terminal"])
admin = APIRouter(prefix="/api/admin/v1", tags=["meals"])
router = APIRouter()
Reviewer = Annotated[Principal, Depends(require_admin(Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD))]


def notifier_of(ctx: AppContext) -> Notifier:
    """The app's parent notifier; the outbox when none was given to create_app."""
    if ctx.notifier is not None:
        return ctx.notifier  # type: ignore[no-any-return]
    return OutboxNotifier(ctx.clock.now)


def school_facts_of(ctx: AppContext) -> SchoolFactsCache:
    """The process's school facts for ingestion (docs/scale.md)."""
    cache = ctx.memo.setdefault("ingest.school_facts", SchoolFactsCache())
    assert isinstance(cache, SchoolFactsCache)
    return cache


@terminal.post(
    "/meal-batches",
    responses=errors(400, 403, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/cose": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def meal_batches(
    request: Request, ctx: CtxDep, uow: UowDep, t: Annotated[TerminalIdentity, Depends(require_terminal)]
) -> dict[str, int]:
    if request.headers.get("Content-Type", "").split(";")[0].strip() != "application/cose":
        raise DomainError(services.IngestReason.WRONG_CONTENT_TYPE, "send the batch as application/cose")
    declared = request.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BATCH:
        raise DomainError(services.IngestReason.TOO_LARGE, f"at most {MAX_BATCH} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BATCH:
            raise DomainError(services.IngestReason.TOO_LARGE, f"at most {MAX_BATCH} bytes")
    result = await run_in_threadpool(
        services.store_batch,
        uow,
        bytes(data),
        t,
        received_at=ctx.clock.now(),
        notifier=notifier_of(ctx),
        facts=school_facts_of(ctx),
    )
    return {"accepted": result.accepted, "duplicates": result.duplicates, "flagged": result.flagged}


@admin.get("/flagged-meals")
def flagged(
    uow: UowDep, who: Reviewer, school_id: IdQuery = None, include_decided: bool = False
) -> dict[str, Any]:
    if school_id is not None:
        ensure_school(who, school_id)
    meals = review.flagged_meals(
        uow.session, who.school_ids, school_id=school_id, include_decided=include_decided
    )
    return {
        "meals": [
            {
                "event_id": m.event_id.hex(),
                "school_id": m.school_id,
                "terminal_id": m.terminal_id,
                "voucher_id": m.voucher_id,
                "local_date": m.local_date.isoformat(),
                "slot": m.slot,
                "served_at": m.served_at.isoformat(),
                "status": m.status,
                "flags": [{"code": c, "detail": d} for c, d in m.flags],
            }
            for m in meals
        ]
    }


class DecisionBody(BaseModel):
    decision: Decision
    note: str | None = Field(default=None, max_length=300)


@admin.post("/flagged-meals/{event_id}/decision")
def decide(event_id: str, body: DecisionBody, ctx: CtxDep, uow: UowDep, who: Reviewer) -> dict[str, str]:
    try:
        raw = bytes.fromhex(event_id)
    except ValueError:
        raw = b""
    if len(raw) != 16:
        raise not_found("meal")
    status = review.decide(
        uow,
        raw,
        body.decision,
        admin_id=who.id,
        school_ids=who.school_ids,
        now=ctx.clock.now(),
        note=body.note,
    )
    return {"event_id": event_id, "status": status}


router.include_router(terminal)
router.include_router(admin)

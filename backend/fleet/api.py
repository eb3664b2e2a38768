"""Fleet HTTP: the terminal side (docs/terminal-api.md) and the admin side (codes, fleet view, cards)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from backend.api_types import Id, IdPath
from backend.auth import Principal, Role, ensure_school, require_admin
from backend.deps import CtxDep, UowDep
from backend.error_shape import errors
from shared_crypto import KeyRole, sign_time
from shared_crypto.device_auth import HEADER, NONCE_LEN

from . import services
from .allowlist import etag_matches, etag_of, serve_allowlist
from .device_auth import require_terminal
from .model import FleetError, FleetReason, TerminalIdentity, TerminalStatus, parse_health
from .not_modified import autocommit, current_etag, validators

COSE = "application/cose"
MAX_JSON = 16 * 1024

terminal = APIRouter(prefix="/api/terminal/v1", tags=["terminal"])
admin = APIRouter(prefix="/api/admin/v1", tags=["fleet"])
router = APIRouter()

TerminalDep = Annotated[TerminalIdentity, Depends(require_terminal)]
FleetAdmin = Annotated[Principal, Depends(require_admin(Role.TECHNICIAN, Role.DISTRICT_ADMIN))]
# Enrolment codes: the technician and the district, and the school's head for a terminal of the school.
CodeIssuer = Annotated[
    Principal, Depends(require_admin(Role.TECHNICIAN, Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD))
]
AnyFleetViewer = Annotated[
    Principal, Depends(require_admin(Role.TECHNICIAN, Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD))
]


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


async def _json_body(request: Request) -> Any:
    body = await request.body()
    if len(body) > MAX_JSON:
        raise FleetError(FleetReason.TOO_LARGE, "body too large")
    try:
        return json.loads(body)
    except ValueError:
        raise FleetError(FleetReason.BAD_HEALTH, "body is not JSON") from None


# -- terminal side ---------------------------------------------------------------------------------


class EnrolBody(BaseModel):
    code: str = Field(max_length=40)
    public_key: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="Ed25519 public key, hex")
    hostname: str = Field(default="", max_length=200)
    software_version: str = Field(default="", max_length=200)


@terminal.post("/enrol", responses=errors(400, 404, 409, 410))
def enrol(body: EnrolBody, ctx: CtxDep, uow: UowDep) -> dict[str, Any]:
    row = services.enrol(
        uow,
        code=body.code,
        public_key=body.public_key,
        hostname=body.hostname,
        software_version=body.software_version,
        now=ctx.clock.now(),
    )
    return {
        "terminal_id": row.id,
        "school_id": row.school_id,
        "canteen_id": row.canteen_id,
        "root_public_key": ctx.keys.root_public().raw.hex(),
    }


def _cose(request: Request, data: bytes, gz: bytes | None, etag: str) -> Response:
    headers = validators(etag)
    if etag_matches(request.headers.get("If-None-Match"), etag):
        return Response(status_code=304, headers=headers)
    if gz is not None and "gzip" in request.headers.get("Accept-Encoding", "").lower():
        return Response(gz, media_type=COSE, headers={**headers, "Content-Encoding": "gzip"})
    return Response(data, media_type=COSE, headers=headers)


# The signed COSE answers, as the OpenAPI description states them (bodies are raw bytes, not JSON).
COSE_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"content": {COSE: {"schema": {"type": "string", "format": "binary"}}}},
}
CACHED_COSE: dict[int | str, dict[str, Any]] = {**COSE_ANSWER, 304: {"description": "Not modified (ETag)"}}
NONCE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@terminal.get("/trust-list", response_class=Response, responses=CACHED_COSE)
def trust_list(request: Request, ctx: CtxDep, _t: TerminalDep) -> Response:
    data = ctx.keys.trust_list_cose()
    return _cose(request, data, None, etag_of(data))


@terminal.get(
    "/allowlist",
    response_class=Response,
    responses={**CACHED_COSE, **errors(401, 403)},
    openapi_extra={"security": [{"device": []}]},  # checked in the handler, not by TerminalDep
)
async def allowlist(request: Request, ctx: CtxDep, uow: UowDep) -> Response:
    # Authenticated here rather than by TerminalDep, in one thread-pool hop: a terminal holding the
    # current bundle costs one indexed read (its key joined to its school's change counter) on an
    # autocommit connection, so no BEGIN and no ROLLBACK round trips; only a 200 opens the unit of work.
    # A matching conditional request with a valid token is usually answered before it gets here, by
    # not_modified.AllowlistNotModified from its terminal map or with the same `current_etag`; this
    # route answers the rest.

    def answer() -> Response:
        now = ctx.clock.now()
        line = f"{request.method} {request.url.path}"
        with autocommit(ctx.engine) as conn:
            t, etag = current_etag(conn, ctx.keys, request.headers.get(HEADER), line, now)
        if etag_matches(request.headers.get("If-None-Match"), etag):
            return Response(status_code=304, headers=validators(etag))
        try:
            signed = serve_allowlist(uow, ctx.keys, t.school_id, now)  # commits a rebuilt bundle
        finally:
            uow.rollback()  # ends the read transaction in this pool thread rather than in another hop
        return _cose(request, signed.content, signed.content_gzip, signed.etag)

    return await run_in_threadpool(answer)


@terminal.post(
    "/time", response_class=Response, responses={**COSE_ANSWER, **errors(400)}, openapi_extra=NONCE_BODY
)
async def signed_time(request: Request, ctx: CtxDep, _t: TerminalDep) -> Response:
    nonce = await request.body()
    if len(nonce) != NONCE_LEN:
        raise FleetError(FleetReason.BAD_NONCE, f"the body is a {NONCE_LEN}-byte nonce")
    key = ctx.keys.signing_key(KeyRole.ALLOWLIST_SIGNER)
    data = sign_time(key, now=int(ctx.clock.now().timestamp()), nonce=nonce)
    return Response(data, media_type=COSE, headers={"Cache-Control": "no-store"})


@terminal.post("/health", responses=errors(400))
async def health(request: Request, ctx: CtxDep, uow: UowDep, t: TerminalDep) -> dict[str, bool]:
    report = parse_health(await _json_body(request))
    await run_in_threadpool(services.record_health, uow, t.terminal_id, report, now=ctx.clock.now())
    return {"ok": True}


# -- admin side ------------------------------------------------------------------------------------


class CodeBody(BaseModel):
    school_id: Id
    canteen_id: int = Field(default=1, ge=1, le=255)


def _code_answer(code: services.IssuedCode, ctx: CtxDep) -> dict[str, Any]:
    return {
        "code": code.code,
        "school_id": code.school_id,
        "canteen_id": code.canteen_id,
        "expires_at": code.expires_at.isoformat(),
        # printed on the enrolment sheet; the technician compares it with what the terminal shows
        "root_fingerprint": ctx.keys.root_public().kid.hex(),
    }


@admin.post("/terminals/enrolment-codes", status_code=201, responses=errors(404))
def create_code(body: CodeBody, ctx: CtxDep, uow: UowDep, who: CodeIssuer) -> dict[str, Any]:
    ensure_school(who, body.school_id)
    code = services.create_enrolment_code(
        uow, school_id=body.school_id, canteen_id=body.canteen_id, admin_id=who.id, now=ctx.clock.now()
    )
    return _code_answer(code, ctx)


@admin.post("/terminals/{terminal_id}/retire")
def retire(terminal_id: IdPath, ctx: CtxDep, uow: UowDep, who: FleetAdmin) -> dict[str, Any]:
    services.retire(uow, terminal_id, now=ctx.clock.now(), school_ids=who.school_ids)
    return {"terminal_id": terminal_id, "status": TerminalStatus.RETIRED}


@admin.post("/terminals/{terminal_id}/move")
def move(terminal_id: IdPath, body: CodeBody, ctx: CtxDep, uow: UowDep, who: FleetAdmin) -> dict[str, Any]:
    code = services.move(
        uow,
        terminal_id,
        school_id=body.school_id,
        canteen_id=body.canteen_id,
        admin_id=who.id,
        now=ctx.clock.now(),
        school_ids=who.school_ids,
    )
    return _code_answer(code, ctx)


@admin.get("/schools/{school_id}/terminals")
def fleet(
    school_id: IdPath, uow: UowDep, who: AnyFleetViewer, include_retired: bool = False
) -> dict[str, Any]:
    ensure_school(who, school_id)
    view = services.fleet_view(uow.session, school_id, include_retired=include_retired)
    return {
        "school_id": school_id,
        "terminals": [
            {
                "terminal_id": v.terminal_id,
                "canteen_id": v.canteen_id,
                "status": v.status,
                "hostname": v.hostname,
                "software_version": v.software_version,
                "last_sync": _iso(v.last_sync),
                "last_seen": _iso(v.last_seen),
                "backlog": v.backlog,
                "clock_offset_s": v.clock_offset_s,
                "faults": list(v.faults),
                "disk_free_bytes": v.disk_free_bytes,
                "enrolled_at": _iso(v.enrolled_at),
            }
            for v in view
        ],
    }


router.include_router(terminal)
router.include_router(admin)

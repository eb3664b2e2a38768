"""Admin upload of an export file: `POST /api/admin/v1/imports/{kind}` (multipart `file`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, UploadFile
from pydantic import BaseModel, ConfigDict

from backend.auth import Principal, Role, require_admin
from backend.deps import CtxDep, UowDep, dispatch_sms_after_response
from backend.errors import DomainError

from .model import ImportKind, ImportReason
from .services import run_import

router = APIRouter(prefix="/api/admin/v1", tags=["imports"])

District = Annotated[Principal, Depends(require_admin(Role.DISTRICT_ADMIN))]
# A district export of pupils with parents is a few MB; the request cap (backend.app) is this plus the form.
MAX_UPLOAD = 20 * 1024 * 1024


class RejectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    row: int
    reason: str
    detail: str


class ImportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    run_id: int
    kind: str
    accepted: int
    created: int
    updated: int
    unchanged: int
    resumed: int
    rejected: list[RejectionOut]


@router.post("/imports/{kind}")
def upload(
    kind: ImportKind,
    file: UploadFile,
    principal: District,
    ctx: CtxDep,
    uow: UowDep,
    background: BackgroundTasks,
) -> ImportOut:
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise DomainError(ImportReason.TOO_LARGE, f"at most {MAX_UPLOAD} bytes")
    report = run_import(
        uow,
        kind,
        data,
        file.filename or "upload.csv",
        actor=f"admin:{principal.id}",
        scope=principal,
        settings=ctx.settings,
        now=ctx.clock.now(),
    )
    dispatch_sms_after_response(background, ctx)
    return ImportOut.model_validate(report)

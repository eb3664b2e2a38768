"""Admin card endpoints (docs/terminal-api.md): card credentials for NTAG cards, registration of others."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from backend.api_types import RequiredIdQuery
from backend.auth import Principal, Role, ensure_school, require_admin
from backend.deps import CtxDep, UowDep
from backend.error_shape import errors
from shared_crypto import CardCredential, KeyRole, issue_card_credential
from shared_crypto.card import PSEUDONYM_LEN, UID_LENGTHS

from . import services
from .model import FleetError, FleetReason

router = APIRouter(prefix="/api/admin/v1/cards", tags=["cards"])
CardAdmin = Annotated[
    Principal, Depends(require_admin(Role.TECHNICIAN, Role.SCHOOL_HEAD, Role.DISTRICT_ADMIN))
]


class CardBody(BaseModel):
    pseudonym: str = Field(pattern=rf"^[0-9a-fA-F]{{{2 * PSEUDONYM_LEN}}}$", description="hex")
    # NFC UIDs are 4, 7 or 10 bytes (shared_crypto.card.UID_LENGTHS), hex
    uid: str = Field(pattern=r"^([0-9a-fA-F]{8}|[0-9a-fA-F]{14}|[0-9a-fA-F]{20})$")


def _uid(hex_uid: str) -> bytes:
    try:
        uid = bytes.fromhex(hex_uid)
    except ValueError:
        uid = b""
    if len(uid) not in UID_LENGTHS:
        raise FleetError(FleetReason.BAD_UID, "uid is 4, 7 or 10 bytes of hex")
    return uid


def _pseudonym(hex_pseudonym: str) -> bytes:
    """b"" when it is not hex: the lookup then finds no pupil."""
    try:
        return bytes.fromhex(hex_pseudonym)
    except ValueError:
        return b""


@router.post("/credential")
def credential(body: CardBody, ctx: CtxDep, uow: UowDep, who: CardAdmin) -> Response:
    uid = _uid(body.uid)
    pupil = services.card_pupil(uow.session, who.school_ids, _pseudonym(body.pseudonym))
    cred = CardCredential(pupil.school_id, uid, pupil.pseudonym, int(ctx.clock.now().timestamp()))
    data = issue_card_credential(ctx.keys.signing_key(KeyRole.CARD_ISSUER), cred)
    return Response(data, media_type="application/cose")


@router.post("/register")
def register(body: CardBody, ctx: CtxDep, uow: UowDep, who: CardAdmin) -> dict[str, str]:
    uid = _uid(body.uid)
    digest = services.register_card(uow, who.school_ids, _pseudonym(body.pseudonym), uid, now=ctx.clock.now())
    return {"uid_hash": digest.hex()}


class UidOnlyCardOut(BaseModel):
    pupil_id: int
    display: str  # initials and class: the school knows whom to call in for a signed card
    class_name: str
    registered_at: datetime


@router.get("/uid-only", responses=errors(404))
def uid_only_cards(school_id: RequiredIdQuery, uow: UowDep, who: CardAdmin) -> list[UidOnlyCardOut]:
    """Pupils of a school still served by a UID-only card (registered, no signed credential): a copied
    UID eats as the pupil, so these are the cards to replace first (docs/security.md)."""
    ensure_school(who, school_id)
    return [
        UidOnlyCardOut(
            pupil_id=c.pupil_id, display=c.display, class_name=c.class_name, registered_at=c.registered_at
        )
        for c in services.uid_only_cards(uow.session, school_id)
    ]

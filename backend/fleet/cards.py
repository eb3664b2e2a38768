"""Admin card endpoints (docs/terminal-api.md): card credentials for NTAG cards, registration of others."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.api_types import RequiredIdQuery
from backend.auth import AuthReason, Principal, Role, ensure_school, require_admin
from backend.deps import CtxDep, UowDep
from backend.error_shape import errors
from backend.errors import DomainError
from backend.fleet.tables import CardRegistration
from backend.roster.tables import Pupil
from shared_crypto import CardCredential, KeyRole, issue_card_credential, uid_hash
from shared_crypto.card import PSEUDONYM_LEN, UID_LENGTHS

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


def _pupil(session: Session, who: Principal, hex_pseudonym: str) -> Pupil:
    try:
        pseudonym = bytes.fromhex(hex_pseudonym)
    except ValueError:
        pseudonym = b""
    pupil = session.scalars(select(Pupil).where(Pupil.pseudonym == pseudonym)).first()
    if len(pseudonym) != PSEUDONYM_LEN or pupil is None:
        raise FleetError(FleetReason.NO_SUCH_PUPIL, "no pupil with that pseudonym")
    if pupil.school_id not in who.school_ids:
        raise DomainError(AuthReason.FORBIDDEN, "the pupil's school is not one of yours")
    return pupil


@router.post("/credential")
def credential(body: CardBody, ctx: CtxDep, uow: UowDep, who: CardAdmin) -> Response:
    uid = _uid(body.uid)
    with uow:
        pupil = _pupil(uow.session, who, body.pseudonym)
        cred = CardCredential(pupil.school_id, uid, pupil.pseudonym, int(ctx.clock.now().timestamp()))
    data = issue_card_credential(ctx.keys.signing_key(KeyRole.CARD_ISSUER), cred)
    return Response(data, media_type="application/cose")


@router.post("/register")
def register(body: CardBody, ctx: CtxDep, uow: UowDep, who: CardAdmin) -> dict[str, str]:
    uid = _uid(body.uid)
    digest = uid_hash(uid)
    with uow:
        pupil = _pupil(uow.session, who, body.pseudonym)
        row = uow.session.scalars(select(CardRegistration).where(CardRegistration.uid_hash == digest)).first()
        if row is not None and row.active:
            raise FleetError(FleetReason.CARD_ALREADY_REGISTERED, "this card is registered to a pupil")
        if row is None:
            uow.session.add(
                CardRegistration(
                    pupil_id=pupil.id, uid_hash=digest, registered_at=ctx.clock.now(), active=True
                )
            )
        else:  # a card given back and handed out again
            row.pupil_id, row.registered_at, row.active = pupil.id, ctx.clock.now(), True
        uow.commit()
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
    rows = uow.session.execute(
        select(Pupil.id, Pupil.display, Pupil.class_name, CardRegistration.registered_at)
        .join(CardRegistration, CardRegistration.pupil_id == Pupil.id)
        .where(Pupil.school_id == school_id, CardRegistration.active.is_(True))
        .order_by(Pupil.class_name, Pupil.display, Pupil.id)
    ).all()
    return [UidOnlyCardOut(pupil_id=r[0], display=r[1], class_name=r[2], registered_at=r[3]) for r in rows]

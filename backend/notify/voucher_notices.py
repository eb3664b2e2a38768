"""Tell the parent when a voucher is suspended, revoked or expires: a row in the same outbox as meal
notices, written in the transaction that changes the voucher, so the notice exists exactly when the
change does."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.adapters.wallet_tables import Guardianship, Parent, Pupil, Voucher

from .model import pick_guardian
from .tables import NoticeRow

TOLD = frozenset({"suspended", "revoked", "expired"})

_TEXTS = {
    "suspended": (
        "{display}: тегін тамақтану ваучері тоқтатылды ({reason}). Сұрақтар бойынша мектепке хабарласыңыз.",
        "{display}: ваучер на бесплатное питание приостановлен ({reason}). По вопросам обратитесь в школу.",
    ),
    "revoked": (
        "{display}: тегін тамақтану ваучері жойылды ({reason}).",
        "{display}: ваучер на бесплатное питание отозван ({reason}).",
    ),
    "expired": (
        "{display}: оқу жылы аяқталды, тегін тамақтану ваучерінің мерзімі бітті.",
        "{display}: учебный год окончен, срок ваучера на бесплатное питание истёк.",
    ),
}


def status_text(language: str, status: str, display: str, reason: str | None) -> str:
    kk, ru = (t.format(display=display, reason=reason or "—") for t in _TEXTS[status])
    if language == "kk":
        return kk
    if language == "ru":
        return ru
    return f"{kk} / {ru}"


def queue_status_notice(
    session: Session, voucher: Voucher, status: str, reason: str | None, now: datetime
) -> None:
    if status not in TOLD:
        return
    display = session.scalar(select(Pupil.display).where(Pupil.id == voucher.pupil_id)) or ""
    guardians = session.execute(
        select(Parent.id, Guardianship.role, Parent.phone, Parent.language)
        .join(Parent, Parent.id == Guardianship.parent_id)
        .where(Guardianship.pupil_id == voucher.pupil_id)
    ).all()
    parent_id = pick_guardian([(g[0], g[1], g[2] is not None) for g in guardians])
    language = next((g[3] for g in guardians if g[0] == parent_id), "kk+ru")
    session.add(
        NoticeRow(
            event_id=uuid.uuid4().bytes,  # one notice per status change
            kind=f"voucher_{status}",
            voucher_id=voucher.id,
            pupil_id=voucher.pupil_id,
            parent_id=parent_id,
            body=status_text(language, status, display, reason),
            created_at=now,
            sent_at=None,
            attempts=0,
        )
    )

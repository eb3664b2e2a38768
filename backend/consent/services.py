"""Consent use cases: start a campaign's requests, take replies, remind, close, re-ask, resume.

Timeline (Annex 1, points 9–10): request → 3 calendar days without an answer → one reminder → 3 more
days → closed (EXPIRED). Timers are rows in scheduled_jobs (backend.timers.store), so they survive restarts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.adapters.bulk import bulk_insert, chunks
from backend.adapters.locking import for_update
from backend.auth.model import Principal
from backend.config import Settings
from backend.consent.tables import ConsentIssue, ConsentRequest, ConsentSubject
from backend.eligibility.services import school_of_list
from backend.eligibility.tables import EligibilityList
from backend.errors import DomainError, not_found
from backend.roster.tables import Guardianship, Parent, Pupil
from backend.sms.outbox import log_inbound, queue_sms
from backend.sms.phones import normalize_phone
from backend.sms.tables import SmsMessage
from backend.timers.store import Handler, cancel, schedule
from backend.timers.tables import ScheduledJob
from backend.unit_of_work import UnitOfWork
from backend.vouchers.services import form_vouchers

from . import texts
from .decisions import ConsentDecisionRow
from .model import (
    ConsentReason,
    ConsentStatus,
    Guardian,
    IssueReason,
    ReplyKind,
    choose_recipient,
    parse_reply,
)

REMIND = "consent.remind"
CLOSE = "consent.close"


@dataclass
class StartSummary:
    requests: int = 0
    issues: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    joined: int = 0  # children added to a request their parent already had in this campaign


def _remind_key(request_id: int, attempt: int) -> str:
    return f"{REMIND}:{request_id}:{attempt}"


def _close_key(request_id: int, attempt: int) -> str:
    return f"{CLOSE}:{request_id}:{attempt}"


def start_consent(
    session: Session, list_id: int, pupil_ids: Iterable[int], *, settings: Settings, now: datetime
) -> StartSummary:
    """One request per parent for the campaign's children without consent yet (bulk inserts)."""
    summary = StartSummary()
    ids = sorted(set(pupil_ids))
    covered = set(session.scalars(select(ConsentSubject.pupil_id).where(ConsentSubject.list_id == list_id)))
    ids = [i for i in ids if i not in covered]
    if not ids:
        return summary
    guardians: dict[int, list[Guardian]] = defaultdict(list)
    parents: dict[int, tuple[str, str | None, str]] = {}
    names: dict[int, str] = {}
    for chunk in chunks(ids):
        for pupil_id, full_name in session.execute(
            select(Pupil.id, Pupil.full_name).where(Pupil.id.in_(chunk))
        ):
            names[pupil_id] = full_name
        rows = session.execute(
            select(
                Guardianship.pupil_id,
                Guardianship.role,
                Parent.id,
                Parent.phone,
                Parent.full_name,
                Parent.language,
            )
            .join(Parent, Parent.id == Guardianship.parent_id)
            .where(Guardianship.pupil_id.in_(chunk))
        ).all()
        for pupil_id, role, parent_id, phone, full_name, language in rows:
            guardians[pupil_id].append(Guardian(parent_id, role, phone))
            parents[parent_id] = (full_name, phone, language)

    by_parent: dict[int, list[int]] = defaultdict(list)
    issues: list[tuple[int, IssueReason]] = []
    for pid in ids:
        choice = choose_recipient(guardians.get(pid, []))
        if isinstance(choice, IssueReason):
            issues.append((pid, choice))
        else:
            by_parent[choice.parent_id].append(pid)
    _record_issues(session, list_id, issues, now, summary)
    _resolve_issues(session, list_id, [p for kids in by_parent.values() for p in kids], now)

    existing = (
        {
            r.parent_id: r
            for r in session.scalars(
                select(ConsentRequest).where(
                    ConsentRequest.list_id == list_id, ConsentRequest.parent_id.in_(list(by_parent))
                )
            )
        }
        if by_parent
        else {}
    )
    subjects: list[dict[str, Any]] = []
    agreed_pupils: list[int] = []
    for parent_id, kids in list(by_parent.items()):
        req = existing.get(parent_id)
        if req is None:
            continue
        subjects.extend({"request_id": req.id, "list_id": list_id, "pupil_id": k} for k in kids)
        summary.joined += len(kids)
        if req.status == ConsentStatus.AGREED:
            agreed_pupils.extend(kids)
        del by_parent[parent_id]

    new_parents = sorted(by_parent)
    if new_parents:
        request_rows = [
            {
                "list_id": list_id,
                "parent_id": p,
                "phone": parents[p][1],
                "status": ConsentStatus.PENDING.value,
                "attempt": 1,
                "sent_at": now,
            }
            for p in new_parents
        ]
        # executemany, then ids by (list, parent): ORM bulk RETURNING is quadratic in the row count
        bulk_insert(session, ConsentRequest, request_rows)
        id_of: dict[int, int] = {}
        for chunk in chunks(new_parents):
            rows_ = session.execute(
                select(ConsentRequest.parent_id, ConsentRequest.id).where(
                    ConsentRequest.list_id == list_id, ConsentRequest.parent_id.in_(chunk)
                )
            )
            id_of.update({parent_id: rid for parent_id, rid in rows_})
        request_ids = [id_of[p] for p in new_parents]
        sms_rows: list[dict[str, Any]] = []
        job_rows: list[dict[str, Any]] = []
        due = now + timedelta(days=settings.reminder_after_days)
        for p, rid in zip(new_parents, request_ids, strict=True):
            kids = by_parent[p]
            subjects.extend({"request_id": rid, "list_id": list_id, "pupil_id": k} for k in kids)
            full_name, phone, language = parents[p]
            assert phone is not None  # choose_recipient only picks parents with a phone
            body = texts.request_text(
                language,
                parent=full_name,
                children=[names[k] for k in kids],
                agree=settings.reply_agree,
                decline=settings.reply_decline,
            )
            sms_rows.append(_sms_row(phone, body, "request", rid, now))
            job_rows.append(
                {
                    "kind": REMIND,
                    "key": _remind_key(rid, 1),
                    "due_at": due,
                    "payload": f'{{"request_id": {rid}, "attempt": 1}}',
                }
            )
        bulk_insert(session, SmsMessage, sms_rows)
        bulk_insert(session, ScheduledJob, job_rows)
        summary.requests = len(request_ids)
    if subjects:
        bulk_insert(session, ConsentSubject, subjects)
    if agreed_pupils:
        form_vouchers(
            session, agreed_pupils, settings=settings, now=now, actor="system", reason="consent agreed"
        )
    return summary


def _sms_row(phone: str, body: str, kind: str, request_id: int | None, now: datetime) -> dict[str, Any]:
    return {
        "direction": "out",
        "phone": phone,
        "kind": kind,
        "body": body,
        "status": "queued",
        "request_id": request_id,
        "created_at": now,
    }


def _record_issues(
    session: Session,
    list_id: int,
    issues: list[tuple[int, IssueReason]],
    now: datetime,
    summary: StartSummary,
) -> None:
    if not issues:
        return
    known = {
        r.pupil_id: r
        for r in session.scalars(
            select(ConsentIssue).where(
                ConsentIssue.list_id == list_id, ConsentIssue.pupil_id.in_([p for p, _ in issues])
            )
        )
    }
    rows = []
    for pid, reason in issues:
        summary.issues[reason.value] += 1
        row = known.get(pid)
        if row is None:
            rows.append(
                {"list_id": list_id, "pupil_id": pid, "reason": reason.value, "at": now, "resolved_at": None}
            )
        else:  # still unreachable, possibly for another reason now
            row.reason, row.resolved_at = reason.value, None
    if rows:
        bulk_insert(session, ConsentIssue, rows)


def _resolve_issues(session: Session, list_id: int, pupil_ids: Sequence[int], now: datetime) -> None:
    for chunk in chunks(sorted(pupil_ids)):
        for issue in session.scalars(
            select(ConsentIssue).where(
                ConsentIssue.list_id == list_id,
                ConsentIssue.pupil_id.in_(chunk),
                ConsentIssue.resolved_at.is_(None),
            )
        ):
            issue.resolved_at = now


@dataclass(frozen=True, slots=True)
class ReplyResult:
    outcome: str  # agreed | declined | help | no_pending | unknown_number | already_decided
    requests: tuple[int, ...] = ()


def handle_reply(uow: UnitOfWork, *, phone: str, text: str, settings: Settings, now: datetime) -> ReplyResult:
    """An inbound SMS. Agree/decline applies to the sender's pending requests (one decision each, under a
    row lock); anything else gets the help text; an unknown number is logged and ignored."""
    result = _handle_reply(uow.session, phone=phone, text=text, settings=settings, now=now)
    uow.commit()
    return result


def _handle_reply(
    session: Session, *, phone: str, text: str, settings: Settings, now: datetime
) -> ReplyResult:
    canon = normalize_phone(phone) or phone.strip()[:20]
    known = session.scalar(select(ConsentRequest.id).where(ConsentRequest.phone == canon).limit(1))
    if known is None:
        log_inbound(session, phone=canon, body=text, now=now, status="ignored", note="UNKNOWN_NUMBER")
        return ReplyResult("unknown_number")
    kind = parse_reply(text, agree=settings.reply_agree, decline=settings.reply_decline)
    lang = _language_for_phone(session, canon)
    if kind is ReplyKind.OTHER:
        log_inbound(session, phone=canon, body=text, now=now, status="received", note="HELP_SENT")
        queue_sms(
            session,
            phone=canon,
            body=texts.help_text(lang, agree=settings.reply_agree, decline=settings.reply_decline),
            kind="help",
            now=now,
        )
        return ReplyResult("help")
    stmt = (
        select(ConsentRequest)
        .where(ConsentRequest.phone == canon, ConsentRequest.status == ConsentStatus.PENDING)
        .order_by(ConsentRequest.id)
    )
    pending = session.scalars(for_update(session, stmt)).all()
    if not pending:
        log_inbound(session, phone=canon, body=text, now=now, status="received", note="NO_PENDING_REQUEST")
        return ReplyResult("no_pending")
    new = ConsentStatus.AGREED if kind is ReplyKind.AGREE else ConsentStatus.DECLINED
    log_inbound(session, phone=canon, body=text, now=now, status="received", note=new.value.upper())
    return _decide(
        session, pending, new, phone=canon, lang=lang, actor=f"parent-sms:{canon}", settings=settings, now=now
    )


def _decide(
    session: Session,
    pending: Sequence[ConsentRequest],
    new: ConsentStatus,
    *,
    phone: str,
    lang: str,
    actor: str,
    settings: Settings,
    now: datetime,
) -> ReplyResult:
    """One decision on the parent's pending requests, whichever way it came (SMS reply or the app):
    the requests decided, their timers cancelled, the decision recorded, vouchers formed on "agree",
    and the official confirmation SMS queued."""
    how = "app" if actor.startswith("parent-app") else "reply"
    for req in pending:
        req.status = new
        req.decided_at = now
        cancel(session, _remind_key(req.id, req.attempt), now, outcome=f"{how} {new}")
        cancel(session, _close_key(req.id, req.attempt), now, outcome=f"{how} {new}")
        session.add(
            ConsentDecisionRow(
                request_id=req.id, attempt=req.attempt, decision=new.value, actor=actor[:60], at=now
            )
        )
    first = pending[0].id
    if new is ConsentStatus.AGREED:
        body = texts.agreed_text(lang, link=settings.wallet_link)
        pupils = session.scalars(
            select(ConsentSubject.pupil_id).where(ConsentSubject.request_id.in_([r.id for r in pending]))
        ).all()
        form_vouchers(session, pupils, settings=settings, now=now, actor=actor, reason="consent agreed")
        queue_sms(session, phone=phone, body=body, kind="agreed", now=now, request_id=first)
    else:
        queue_sms(
            session, phone=phone, body=texts.declined_text(lang), kind="declined", now=now, request_id=first
        )
    return ReplyResult(new.value, tuple(r.id for r in pending))


@dataclass(frozen=True, slots=True)
class PendingConsent:
    request_id: int
    sent_at: datetime
    children: tuple[str, ...]  # initials and class


def pending_for_parent(session: Session, principal: Principal) -> list[PendingConsent]:
    """The caller's consent requests still waiting for an answer, with the children each covers."""
    rows = session.execute(
        select(ConsentRequest.id, ConsentRequest.sent_at, Pupil.display)
        .join(ConsentSubject, ConsentSubject.request_id == ConsentRequest.id)
        .join(Pupil, Pupil.id == ConsentSubject.pupil_id)
        .where(
            ConsentRequest.parent_id == principal.parent_id, ConsentRequest.status == ConsentStatus.PENDING
        )
        .order_by(ConsentRequest.id, Pupil.id)
    ).all()
    out: dict[int, PendingConsent] = {}
    for rid, sent_at, display in rows:
        cur = out.get(rid)
        out[rid] = PendingConsent(rid, sent_at, (cur.children if cur else ()) + (display,))
    return list(out.values())


def decide_in_app(
    uow: UnitOfWork, principal: Principal, *, agree: bool, settings: Settings, now: datetime
) -> ReplyResult:
    """The app's answer for a parent who cannot reply by SMS (blocked short number, spam filter, no
    balance): the same effect and record as a 3#1 / 3#2 reply, on the parent's pending requests."""
    session = uow.session
    stmt = (
        select(ConsentRequest)
        .where(
            ConsentRequest.parent_id == principal.parent_id, ConsentRequest.status == ConsentStatus.PENDING
        )
        .order_by(ConsentRequest.id)
    )
    pending = session.scalars(for_update(session, stmt)).all()
    if not pending:
        raise DomainError(ConsentReason.NO_PENDING, "no consent request is waiting for an answer")
    parent = session.get(Parent, principal.parent_id)
    lang = parent.language if parent is not None else texts.Lang.BOTH.value
    new = ConsentStatus.AGREED if agree else ConsentStatus.DECLINED
    result = _decide(
        session,
        pending,
        new,
        phone=pending[0].phone,
        lang=lang,
        actor=f"parent-app:{principal.parent_id}",
        settings=settings,
        now=now,
    )
    uow.commit()
    return result


def _language_for_phone(session: Session, phone: str) -> str:
    lang = session.scalar(select(Parent.language).where(Parent.phone == phone).order_by(Parent.id).limit(1))
    return lang or texts.Lang.BOTH.value


def _send_request(
    session: Session,
    req: ConsentRequest,
    settings: Settings,
    now: datetime,
    *,
    kind: Literal["request", "reminder"],
) -> None:
    """Queue the request text (a first ask or a reminder) and the attempt's next timer: a reminder
    after the request, the close after the reminder."""
    queue_sms(
        session,
        phone=req.phone,
        body=_request_text(session, req, settings),
        kind=kind,
        now=now,
        request_id=req.id,
    )
    if kind == "reminder":
        timer, key, days = CLOSE, _close_key(req.id, req.attempt), settings.close_after_days
    else:
        timer, key, days = REMIND, _remind_key(req.id, req.attempt), settings.reminder_after_days
    schedule(
        session,
        kind=timer,
        key=key,
        due_at=now + timedelta(days=days),
        payload={"request_id": req.id, "attempt": req.attempt},
    )


def _request_text(session: Session, req: ConsentRequest, settings: Settings) -> str:
    parent = session.get(Parent, req.parent_id)
    assert parent is not None
    kids = session.scalars(
        select(Pupil.full_name)
        .join(ConsentSubject, ConsentSubject.pupil_id == Pupil.id)
        .where(ConsentSubject.request_id == req.id)
        .order_by(Pupil.id)
    ).all()
    return texts.request_text(
        parent.language,
        parent=parent.full_name,
        children=list(kids),
        agree=settings.reply_agree,
        decline=settings.reply_decline,
    )


def make_handlers(settings: Settings) -> dict[str, Handler]:
    """Scheduler handlers for the consent timers."""

    def remind(session: Session, payload: dict[str, Any], now: datetime) -> str:
        req = _locked_request(session, int(payload["request_id"]))
        if req is None or req.status != ConsentStatus.PENDING or req.attempt != payload["attempt"]:
            return "skipped: no longer pending"
        req.reminded_at = now
        _send_request(session, req, settings, now, kind="reminder")
        return "reminded"

    def close(session: Session, payload: dict[str, Any], now: datetime) -> str:
        req = _locked_request(session, int(payload["request_id"]))
        if req is None or req.status != ConsentStatus.PENDING or req.attempt != payload["attempt"]:
            return "skipped: no longer pending"
        req.status = ConsentStatus.EXPIRED
        req.decided_at = now
        return "expired"

    return {REMIND: remind, CLOSE: close}


def _locked_request(session: Session, request_id: int) -> ConsentRequest | None:
    stmt = select(ConsentRequest).where(ConsentRequest.id == request_id)
    return session.scalars(for_update(session, stmt)).first()


def reask(
    uow: UnitOfWork, principal: Principal, request_id: int, *, settings: Settings, now: datetime
) -> ConsentRequest:
    """A district admin asks a parent who declined (or never answered) again: a new attempt, a new SMS."""
    session = uow.session
    req = _locked_request(session, request_id)
    if req is None:
        raise not_found("consent request")
    school_id = session.scalar(select(EligibilityList.school_id).where(EligibilityList.id == req.list_id))
    if school_id not in principal.school_ids:
        raise not_found("consent request")
    if req.status not in (ConsentStatus.DECLINED, ConsentStatus.EXPIRED):
        raise DomainError(ConsentReason.NOT_DECIDED, f"the request is {req.status}")
    parent = session.get(Parent, req.parent_id)
    if parent is not None and parent.phone:
        req.phone = parent.phone  # the number may have been corrected by an import since
    req.status = ConsentStatus.PENDING
    req.attempt += 1
    req.sent_at = now
    req.reminded_at = None
    req.decided_at = None
    _send_request(session, req, settings, now, kind="request")
    uow.commit()
    return req


def requests_of_list(session: Session, principal: Principal, list_id: int) -> list[ConsentRequest]:
    """A list's consent requests, for staff of the list's school; 404 for any other list."""
    if school_of_list(session, list_id) not in principal.school_ids:
        raise not_found("eligibility list")
    stmt = select(ConsentRequest).where(ConsentRequest.list_id == list_id).order_by(ConsentRequest.id)
    return list(session.scalars(stmt))


@dataclass(frozen=True, slots=True)
class FollowUp:
    issue_id: int
    list_id: int
    school_id: int
    pupil_id: int
    pupil_name: str
    class_name: str
    reason: str
    since: datetime


def followups(session: Session, principal: Principal, reason: IssueReason | None = None) -> list[FollowUp]:
    """Open consent issues (UNLINKED to follow up; NO_PHONE for the record) in the caller's schools."""
    if not principal.school_ids:
        return []
    stmt = (
        select(ConsentIssue, EligibilityList.school_id, Pupil.full_name, Pupil.class_name)
        .join(EligibilityList, EligibilityList.id == ConsentIssue.list_id)
        .join(Pupil, Pupil.id == ConsentIssue.pupil_id)
        .where(
            ConsentIssue.resolved_at.is_(None), EligibilityList.school_id.in_(sorted(principal.school_ids))
        )
        .order_by(ConsentIssue.id)
    )
    if reason is not None:
        stmt = stmt.where(ConsentIssue.reason == reason)
    return [
        FollowUp(i.id, i.list_id, school_id, i.pupil_id, name, cls, i.reason, i.at)
        for i, school_id, name, cls in session.execute(stmt).all()
    ]


def resume_unlinked(session: Session, pupil_ids: Iterable[int], *, settings: Settings, now: datetime) -> int:
    """A link arrived by import: pupils waiting as UNLINKED re-enter their campaigns. Returns how many."""
    ids = sorted(set(pupil_ids))
    resumed = 0
    by_list: dict[int, list[int]] = defaultdict(list)
    for chunk in chunks(ids):
        for issue in session.scalars(
            select(ConsentIssue).where(
                ConsentIssue.pupil_id.in_(chunk),
                ConsentIssue.reason == IssueReason.UNLINKED,
                ConsentIssue.resolved_at.is_(None),
            )
        ):
            by_list[issue.list_id].append(issue.pupil_id)
    for list_id, kids in by_list.items():
        start_consent(session, list_id, kids, settings=settings, now=now)
        resumed += len(kids)
    return resumed

"""Consent use cases: start a campaign's requests, take replies, remind, close, re-ask, resume.

Timeline (Annex 1, points 9–10): request → 3 calendar days without an answer → one reminder → 3 more
days → closed (EXPIRED). Timers are rows in scheduled_jobs (backend.timers.store), so they survive restarts.
The queries live in `repository.py`; what is here is the rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from backend.auth.model import Principal
from backend.clock import local_date
from backend.config import Settings
from backend.consent.tables import ConsentIssue, ConsentRequest
from backend.eligibility.categories import plans_for
from backend.eligibility.services import school_of_list
from backend.errors import DomainError, not_found
from backend.roster.grades import LAST_UNCONDITIONAL_GRADE
from backend.sms.model import SmsStatus
from backend.sms.outbox import Sms, log_inbound, queue_many, queue_sms
from backend.sms.phones import normalize_phone
from backend.sms.webhook_auth import WebhookReason
from backend.throttle.store import Rule, record
from backend.timers.store import Handler, Timer, cancel, schedule, schedule_new
from backend.unit_of_work import UnitOfWork
from backend.vouchers.model import school_year_of
from backend.vouchers.services import form_vouchers

from . import texts
from .decisions import ConsentDecisionRow
from .model import (
    ConsentReason,
    ConsentStatus,
    IssueReason,
    ReplyKind,
    ReplyNote,
    choose_recipient,
    parse_reply,
)
from .repository import ConsentRepository, Families
from .repository import FollowUp as FollowUp  # the follow-up list is a read model of the repository

REMIND = "consent.remind"
CLOSE = "consent.close"
# At most this many help texts per number a day; further unrecognised replies are logged, not answered.
HELP_REPLIES = Rule(
    "sms-help", free=3, window=timedelta(days=1), base=timedelta(days=1), cap=timedelta(days=1)
)


@dataclass
class StartSummary:
    requests: int = 0
    issues: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    joined: int = 0  # children added to a request their parent already had in this campaign
    remembered: int = 0  # not asked: their parent declined earlier in the school year


def _remind_key(request_id: int, attempt: int) -> str:
    return f"{REMIND}:{request_id}:{attempt}"


def _close_key(request_id: int, attempt: int) -> str:
    return f"{CLOSE}:{request_id}:{attempt}"


def start_consent(
    session: Session, list_id: int, pupil_ids: Iterable[int], *, settings: Settings, now: datetime
) -> StartSummary:
    """One request per parent for the campaign's children without consent yet (bulk inserts): a child
    whose parent already has a request in this campaign joins it; a child no parent can be asked about
    is an issue to follow up; every other parent gets a first request and its reminder timer."""
    repo = ConsentRepository(session)
    summary = StartSummary()
    covered = repo.covered_pupils(list_id)
    ids = [i for i in sorted(set(pupil_ids)) if i not in covered]
    if not ids:
        return summary
    families = repo.families(ids)
    by_parent: dict[int, list[int]] = defaultdict(list)
    unreachable: list[tuple[int, IssueReason]] = []
    for pid in ids:
        choice = choose_recipient(families.guardians.get(pid, []))
        if isinstance(choice, IssueReason):
            unreachable.append((pid, choice))
        else:
            by_parent[choice.parent_id].append(pid)
    _record_issues(repo, list_id, unreachable, now, summary)
    repo.resolve_issues(list_id, [p for kids in by_parent.values() for p in kids], now)
    agreed = _join_open_requests(repo, list_id, by_parent, summary)
    if by_parent:
        _ask(session, repo, list_id, by_parent, families, settings=settings, now=now)
        summary.requests = len(by_parent)
    if agreed:
        _form(session, agreed, settings=settings, now=now, actor="system")
    return summary


def _form(session: Session, pupils: Sequence[int], *, settings: Settings, now: datetime, actor: str) -> int:
    """Vouchers for pupils whose parent agreed, on the plan their category gives."""
    plans = plans_for(session, pupils, school_year_of(local_date(now)))
    return form_vouchers(
        session, pupils, settings=settings, now=now, actor=actor, reason="consent agreed", plans=plans
    )


def _join_open_requests(
    repo: ConsentRepository, list_id: int, by_parent: dict[int, list[int]], summary: StartSummary
) -> list[int]:
    """Children whose parent has a request in this campaign join it (and leave `by_parent`); returns
    those whose parent agreed already, who get their vouchers now."""
    joins = [
        (req, by_parent.pop(parent_id))
        for parent_id, req in repo.requests_of_parents(list_id, by_parent).items()
    ]
    repo.add_subjects(list_id, [(req.id, kids) for req, kids in joins])
    summary.joined += sum(len(kids) for _, kids in joins)
    return [k for req, kids in joins if req.status == ConsentStatus.AGREED for k in kids]


def _ask(
    session: Session,
    repo: ConsentRepository,
    list_id: int,
    by_parent: dict[int, list[int]],
    families: Families,
    *,
    settings: Settings,
    now: datetime,
) -> None:
    """A first request to each parent: the request, its children, the SMS and the reminder's timer."""
    phones: dict[int, str] = {}
    for p in by_parent:
        phone = families.contacts[p].phone
        assert phone is not None  # choose_recipient only picks parents with a phone
        phones[p] = phone
    request_ids = repo.add_requests(list_id, phones, now)
    repo.add_subjects(list_id, [(request_ids[p], kids) for p, kids in sorted(by_parent.items())])
    due = now + timedelta(days=settings.reminder_after_days)
    messages, timers = [], []
    for p in sorted(by_parent):
        rid, contact = request_ids[p], families.contacts[p]
        body = texts.request_text(
            contact.language,
            parent=contact.full_name,
            children=[families.names[k] for k in by_parent[p]],
            agree=settings.reply_agree,
            decline=settings.reply_decline,
        )
        messages.append(Sms(phones[p], body, "request", rid))
        timers.append(Timer(REMIND, _remind_key(rid, 1), due, {"request_id": rid, "attempt": 1}))
    queue_many(session, messages, now=now)
    schedule_new(session, timers)


def _record_issues(
    repo: ConsentRepository,
    list_id: int,
    issues: list[tuple[int, IssueReason]],
    now: datetime,
    summary: StartSummary,
) -> None:
    """Pupils no parent can be asked about; one already recorded is reopened with today's reason."""
    if not issues:
        return
    known = repo.issues_of(list_id, [p for p, _ in issues])
    new = []
    for pid, reason in issues:
        summary.issues[reason.value] += 1
        row = known.get(pid)
        if row is None:
            new.append((pid, reason))
        else:  # still unreachable, possibly for another reason now
            row.reason, row.resolved_at = reason.value, None
    repo.add_issues(list_id, new, now)


def record_unlinked(session: Session, list_id: int, pupil_ids: Sequence[int], now: datetime) -> int:
    """Grade 1–4 pupils with no linked parent: nobody can activate their voucher, so they are followed
    up (UNLINKED) like older pupils; a link arriving by import resolves it. Returns how many."""
    repo = ConsentRepository(session)
    linked = repo.linked(pupil_ids)
    unlinked = [(p, IssueReason.UNLINKED) for p in sorted(set(pupil_ids)) if p not in linked]
    _record_issues(repo, list_id, unlinked, now, StartSummary())
    return len(unlinked)


@dataclass(frozen=True, slots=True)
class ReplyResult:
    outcome: str  # agreed | declined | help | closed | no_pending | unknown_number | already_decided
    requests: tuple[int, ...] = ()


def handle_reply(
    uow: UnitOfWork,
    *,
    phone: str,
    text: str,
    settings: Settings,
    now: datetime,
    signature: str | None = None,
) -> ReplyResult:
    """An inbound SMS. Agree/decline applies to the sender's pending requests (one decision each, under a
    row lock); anything else gets the help text; an unknown number is logged and ignored. A signed call
    (`signature`) is refused when that signature was already received within the replay window."""
    if signature is not None and _seen_signature(
        uow.session, signature, now, settings.sms_webhook_window_seconds
    ):
        raise DomainError(WebhookReason.REPLAYED, "this signed call was already received")
    result = _handle_reply(uow.session, phone=phone, text=text, settings=settings, now=now)
    uow.commit()
    return result


def _handle_reply(
    session: Session, *, phone: str, text: str, settings: Settings, now: datetime
) -> ReplyResult:
    repo = ConsentRepository(session)
    canon = normalize_phone(phone) or phone.strip()[:20]
    if not repo.knows_phone(canon):
        log_inbound(
            session, phone=canon, body=text, now=now, status=SmsStatus.IGNORED, note=ReplyNote.UNKNOWN_NUMBER
        )
        return ReplyResult("unknown_number")
    kind = parse_reply(text, agree=settings.reply_agree, decline=settings.reply_decline)
    lang = repo.language_of_phone(canon) or texts.Lang.BOTH.value
    if kind is ReplyKind.OTHER:
        if record(session, HELP_REPLIES, HELP_REPLIES.key(canon), now):
            # forged or looping texts must not make the outbox send an SMS for each
            log_inbound(
                session,
                phone=canon,
                body=text,
                now=now,
                status=SmsStatus.RECEIVED,
                note=ReplyNote.HELP_SUPPRESSED,
            )
            return ReplyResult("help_suppressed")
        log_inbound(
            session, phone=canon, body=text, now=now, status=SmsStatus.RECEIVED, note=ReplyNote.HELP_SENT
        )
        queue_sms(
            session,
            phone=canon,
            body=texts.help_text(lang, agree=settings.reply_agree, decline=settings.reply_decline),
            kind="help",
            now=now,
        )
        return ReplyResult("help")
    pending = repo.pending_locked(phone=canon)
    if not pending:
        log_inbound(
            session,
            phone=canon,
            body=text,
            now=now,
            status=SmsStatus.RECEIVED,
            note=ReplyNote.NO_PENDING_REQUEST,
        )
        if repo.latest_status_of_phone(canon) == ConsentStatus.EXPIRED:
            # The answer came after the request closed: say so and how to be asked again.
            queue_sms(session, phone=canon, body=texts.closed_text(lang), kind="closed", now=now)
            return ReplyResult("closed")
        return ReplyResult("no_pending")
    new = ConsentStatus.AGREED if kind is ReplyKind.AGREE else ConsentStatus.DECLINED
    log_inbound(session, phone=canon, body=text, now=now, status=SmsStatus.RECEIVED, note=new.value.upper())
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
        pupils = ConsentRepository(session).pupils_of_requests([r.id for r in pending])
        _form(session, pupils, settings=settings, now=now, actor=actor)
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
    out: dict[int, PendingConsent] = {}
    for rid, sent_at, display in ConsentRepository(session).pending_with_children(principal.parent_id):
        cur = out.get(rid)
        out[rid] = PendingConsent(rid, sent_at, (cur.children if cur else ()) + (display,))
    return list(out.values())


def decide_in_app(
    uow: UnitOfWork, principal: Principal, *, agree: bool, settings: Settings, now: datetime
) -> ReplyResult:
    """The app's answer for a parent who cannot reply by SMS (blocked short number, spam filter, no
    balance): the same effect and record as a 3#1 / 3#2 reply, on the parent's pending requests."""
    session = uow.session
    repo = ConsentRepository(session)
    pending = repo.pending_locked(parent_id=principal.parent_id)
    if not pending:
        raise DomainError(ConsentReason.NO_PENDING, "no consent request is waiting for an answer")
    parent = repo.parent(principal.parent_id)
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


def _seen_signature(session: Session, signature: str, now: datetime, window_seconds: int) -> bool:
    """Records a webhook signature; True when it was already recorded within twice the replay window."""
    keep = timedelta(seconds=2 * window_seconds + 60)
    rule = Rule("sms-signature", free=1, window=keep, base=keep, cap=keep)
    return record(session, rule, rule.key(signature), now) > 0


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
        body=_request_text(ConsentRepository(session), req, settings),
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


def _request_text(repo: ConsentRepository, req: ConsentRequest, settings: Settings) -> str:
    parent = repo.parent(req.parent_id)
    assert parent is not None
    return texts.request_text(
        parent.language,
        parent=parent.full_name,
        children=repo.children_names(req.id),
        agree=settings.reply_agree,
        decline=settings.reply_decline,
    )


def make_handlers(settings: Settings) -> dict[str, Handler]:
    """Scheduler handlers for the consent timers."""

    def remind(session: Session, payload: dict[str, Any], now: datetime) -> str:
        req = ConsentRepository(session).request_locked(int(payload["request_id"]))
        if req is None or req.status != ConsentStatus.PENDING or req.attempt != payload["attempt"]:
            return "skipped: no longer pending"
        req.reminded_at = now
        _send_request(session, req, settings, now, kind="reminder")
        return "reminded"

    def close(session: Session, payload: dict[str, Any], now: datetime) -> str:
        req = ConsentRepository(session).request_locked(int(payload["request_id"]))
        if req is None or req.status != ConsentStatus.PENDING or req.attempt != payload["attempt"]:
            return "skipped: no longer pending"
        req.status = ConsentStatus.EXPIRED
        req.decided_at = now
        return "expired"

    return {REMIND: remind, CLOSE: close}


def reask(
    uow: UnitOfWork, principal: Principal, request_id: int, *, settings: Settings, now: datetime
) -> ConsentRequest:
    """A district admin asks a parent who declined (or never answered) again: a new attempt, a new SMS."""
    session = uow.session
    repo = ConsentRepository(session)
    req = repo.request_locked(request_id)
    if req is None or school_of_list(session, req.list_id) not in principal.school_ids:
        raise not_found("consent request")
    if req.status not in REASKABLE:
        raise DomainError(ConsentReason.NOT_DECIDED, f"the request is {req.status}")
    _reask(session, repo, req, settings, now)
    uow.commit()
    return req


# Whom a district admin may ask again: parents who declined, and requests closed without an answer.
REASKABLE = (ConsentStatus.DECLINED, ConsentStatus.EXPIRED)


def _reask(
    session: Session, repo: ConsentRepository, req: ConsentRequest, settings: Settings, now: datetime
) -> None:
    parent = repo.parent(req.parent_id)
    if parent is not None and parent.phone:
        req.phone = parent.phone  # the number may have been corrected by an import since
    req.status = ConsentStatus.PENDING
    req.attempt += 1
    req.sent_at = now
    req.reminded_at = None
    req.decided_at = None
    _send_request(session, req, settings, now, kind="request")


def _campaign_requests(session: Session, principal: Principal, list_id: int) -> list[ConsentRequest]:
    """A campaign's (school and month's list's) requests, for a district admin of the list's school."""
    if school_of_list(session, list_id) not in principal.school_ids:
        raise not_found("eligibility list")
    return ConsentRepository(session).requests_of_list(list_id)


def reaskable(session: Session, principal: Principal, list_id: int) -> dict[ConsentStatus, int]:
    """How many of a campaign's parents a re-ask would reach, by how their request ended (declined,
    expired): one SMS each, whatever the number of their children on the list."""
    counts = dict.fromkeys(REASKABLE, 0)
    for req in _campaign_requests(session, principal, list_id):
        if req.status in counts:
            counts[ConsentStatus(req.status)] += 1
    return counts


def reask_campaign(
    uow: UnitOfWork,
    principal: Principal,
    list_id: int,
    statuses: Iterable[ConsentStatus],
    *,
    settings: Settings,
    now: datetime,
) -> int:
    """Asks again, in one transaction, every parent of the campaign whose request ended in one of
    `statuses` (declined and/or expired): the district admin's re-ask that later lists otherwise never
    make (declined_this_year). Returns how many requests, so SMS, went out."""
    wanted = set(statuses)
    if not wanted or not wanted <= set(REASKABLE):
        raise DomainError(ConsentReason.NOT_DECIDED, "re-ask declined or expired requests")
    session = uow.session
    repo = ConsentRepository(session)
    asked = 0
    for found in _campaign_requests(session, principal, list_id):
        if found.status not in wanted:
            continue
        req = repo.request_locked(found.id)  # under its lock, as a reply may be landing
        if req is None or req.status not in wanted:
            continue
        _reask(session, repo, req, settings, now)
        asked += 1
    uow.commit()
    return asked


def requests_of_list(session: Session, principal: Principal, list_id: int) -> list[ConsentRequest]:
    """A list's consent requests, for staff of the list's school; 404 for any other list."""
    if school_of_list(session, list_id) not in principal.school_ids:
        raise not_found("eligibility list")
    return ConsentRepository(session).requests_of_list(list_id)


def followups(session: Session, principal: Principal, reason: IssueReason | None = None) -> list[FollowUp]:
    """Open consent issues (UNLINKED to follow up; NO_PHONE for the record) in the caller's schools."""
    if not principal.school_ids:
        return []
    return ConsentRepository(session).open_issues(principal.school_ids, reason)


def followups_page(
    session: Session, principal: Principal, reason: IssueReason | None, *, limit: int, offset: int
) -> tuple[list[FollowUp], int]:
    """One page of `followups`, paged in the database, and how many there are in all."""
    if not principal.school_ids:
        return [], 0
    repo = ConsentRepository(session)
    return (
        repo.open_issues(principal.school_ids, reason, limit=limit, offset=offset),
        repo.open_issue_count(principal.school_ids, reason),
    )


def resume_unlinked(session: Session, pupil_ids: Iterable[int], *, settings: Settings, now: datetime) -> int:
    """A link arrived by import: pupils waiting as UNLINKED re-enter their campaigns. Returns how many."""
    repo = ConsentRepository(session)
    resumed = 0
    for list_id, waiting in repo.unlinked_by_list(list(pupil_ids)).items():
        grades = repo.grades(waiting)
        # grades 1–4 need no consent: the linked parent activates the voucher now
        small = [p for p in waiting if grades.get(p, 0) <= LAST_UNCONDITIONAL_GRADE]
        repo.resolve_issues(list_id, small, now)
        kids = [p for p in waiting if p not in small]
        if kids:
            start_consent(session, list_id, kids, settings=settings, now=now)
        resumed += len(waiting)
    return resumed


def resume_no_phone(session: Session, parent_ids: Iterable[int], *, settings: Settings, now: datetime) -> int:
    """A parent's number arrived (an import): their children whose consent ended NO_PHONE in this school
    year get the request now, in the newest campaign that could not reach them. Returns how many."""
    ids = sorted(set(parent_ids))
    if not ids:
        return 0
    year = school_year_of(local_date(now))
    newest: dict[int, ConsentIssue] = {}
    for issue in ConsentRepository(session).no_phone_issues(ids, date(year, 6, 1), date(year + 1, 5, 31)):
        older = newest.get(issue.pupil_id)
        if older is not None and older.id != issue.id:
            older.resolved_at = now  # superseded by the later campaign's issue
        newest[issue.pupil_id] = issue
    by_list: dict[int, list[int]] = defaultdict(list)
    for issue in newest.values():
        by_list[issue.list_id].append(issue.pupil_id)
    resumed = 0
    for list_id, kids in sorted(by_list.items()):
        summary = start_consent(session, list_id, kids, settings=settings, now=now)
        resumed += summary.requests + summary.joined
    return resumed


def declined_this_year(session: Session, pupil_ids: Iterable[int], school_year: int) -> set[int]:
    """Pupils whose parent's latest answer in this school year is a decline: later monthly lists do not
    ask again (a district admin's re-ask reopens the request, so it no longer reads as declined)."""
    first, last = date(school_year, 6, 1), date(school_year + 1, 5, 31)
    latest = ConsentRepository(session).latest_status_by_pupil(sorted(set(pupil_ids)), first, last)
    return {p for p, status in latest.items() if status == ConsentStatus.DECLINED}

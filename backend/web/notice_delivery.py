"""The worker's delivery of parent notices, in three steps, each in its own transaction:

1. collect: every source of notices becomes rows of the parents' in-app list — the meal outbox
   (written with each meal), status changes in the vouchers' audit trail (suspended, revoked,
   expired) and consent outcomes (each decision, and requests closed unanswered);
2. push: each new notice goes to every browser the parent subscribed, with retries and backoff; a
   subscription the push service calls gone (404/410) is removed; each attempt is recorded;
3. digest: parents who opted in get one SMS a day summing up the day's notices.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.adapters.locking import for_update, serialise
from backend.clock import KZ_TZ
from backend.consent.decisions import ConsentDecisionRow
from backend.consent.tables import ConsentRequest, ConsentSubject
from backend.ingest.tables import MealEventRow
from backend.notify.delivery_tables import (
    NotifyCursorRow,
    NotifyPreferenceRow,
    ParentNoticeRow,
    PushDeliveryRow,
    PushSubscriptionRow,
    SmsDigestRow,
)
from backend.notify.tables import NoticeRow
from backend.notify.webpush import PushResult, PushSender, Subscription
from backend.roster.tables import Guardianship, Parent, Pupil
from backend.sms.outbox import queue_sms
from backend.vouchers.tables import Voucher, VoucherEvent

from . import i18n, texts

log = logging.getLogger(__name__)
STATUS_KINDS = {"suspended": "voucher_suspended", "revoked": "voucher_revoked", "expired": "voucher_expired"}
BATCH = 500
PUSH_LEASE = timedelta(minutes=10)
DIGEST_AT = time(19, 0)  # school-local time after which the day's digest goes out
EXPIRED_LOOKBACK = timedelta(days=7)


@dataclass
class DeliveryReport:
    collected: int = 0
    pushed: int = 0
    retried: int = 0
    gone: int = 0
    digests: int = 0


def _advance(session: Session, name: str) -> NotifyCursorRow:
    row = session.scalars(
        for_update(session, select(NotifyCursorRow).where(NotifyCursorRow.name == name))
    ).first()
    if row is None:
        row = NotifyCursorRow(name=name, position=0)
        session.add(row)
        session.flush()
    return row


def _add(session: Session, rows: Iterable[dict[str, Any]], now: datetime) -> int:
    """New notices; one already in a parent's list (same source) is left as it is."""
    todo = list(rows)
    if not todo:
        return 0
    known: set[tuple[str, int]] = {
        (source, parent_id)
        for source, parent_id in session.execute(
            select(ParentNoticeRow.source, ParentNoticeRow.parent_id).where(
                ParentNoticeRow.source.in_(sorted({r["source"] for r in todo}))
            )
        )
    }
    added = 0
    for r in todo:
        if (r["source"], r["parent_id"]) in known:
            continue
        known.add((r["source"], r["parent_id"]))
        session.add(ParentNoticeRow(**r, created_at=now, next_push_at=now, push_attempts=0))
        added += 1
    return added


def _guardians(session: Session, pupil_ids: Iterable[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    ids = sorted(set(pupil_ids))
    if ids:
        for pupil_id, parent_id in session.execute(
            select(Guardianship.pupil_id, Guardianship.parent_id).where(Guardianship.pupil_id.in_(ids))
        ):
            out[pupil_id].append(parent_id)
    return out


def collect(session: Session, now: datetime) -> int:
    """Step 1, in the caller's transaction. Returns how many notices were added."""
    added = 0
    # the meal outbox: one notice per served meal, to the guardian chosen when it was written
    meals = session.execute(
        select(NoticeRow, MealEventRow.served_at, Pupil.display)
        .join(Voucher, Voucher.id == NoticeRow.voucher_id)
        # a voucher is served only at its school's terminals: the meal's key is (school, id)
        .join(
            MealEventRow,
            (MealEventRow.school_id == Voucher.school_id) & (MealEventRow.id == NoticeRow.event_id),
        )
        .join(Pupil, Pupil.id == NoticeRow.pupil_id)
        .where(NoticeRow.sent_at.is_(None))
        .order_by(NoticeRow.id)
        .limit(BATCH)
    ).all()
    rows = []
    for notice, served_at, display in meals:
        notice.attempts += 1
        notice.sent_at = now  # handed to the parent's channels
        if notice.parent_id is not None:
            rows.append(
                {
                    "parent_id": notice.parent_id,
                    "kind": notice.kind,
                    "source": f"meal:{notice.event_id.hex()}",
                    "pupil_id": notice.pupil_id,
                    "display": display,
                    "at": served_at,
                }
            )
    added += _add(session, rows, now)

    # voucher status changes, read from the audit trail after the cursor
    cursor = _advance(session, "voucher_events")
    events = session.execute(
        select(VoucherEvent.id, VoucherEvent.new_status, VoucherEvent.at, Voucher.pupil_id, Pupil.display)
        .join(Voucher, Voucher.id == VoucherEvent.voucher_id)
        .join(Pupil, Pupil.id == Voucher.pupil_id)
        .where(VoucherEvent.id > cursor.position)
        .order_by(VoucherEvent.id)
        .limit(BATCH)
    ).all()
    guardians = _guardians(session, [e.pupil_id for e in events if e.new_status in STATUS_KINDS])
    rows = [
        {
            "parent_id": parent_id,
            "kind": STATUS_KINDS[e.new_status],
            "source": f"voucher-event:{e.id}",
            "pupil_id": e.pupil_id,
            "display": e.display,
            "at": e.at,
        }
        for e in events
        if e.new_status in STATUS_KINDS
        for parent_id in guardians.get(e.pupil_id, [])
    ]
    added += _add(session, rows, now)
    if events:
        cursor.position = events[-1].id

    # consent outcomes: every decision (SMS or app), and requests that closed unanswered
    cursor = _advance(session, "consent_decisions")
    decisions = session.execute(
        select(ConsentDecisionRow, ConsentRequest.parent_id)
        .join(ConsentRequest, ConsentRequest.id == ConsentDecisionRow.request_id)
        .where(ConsentDecisionRow.id > cursor.position)
        .order_by(ConsentDecisionRow.id)
        .limit(BATCH)
    ).all()
    expired = session.execute(
        select(
            ConsentRequest.id, ConsentRequest.attempt, ConsentRequest.parent_id, ConsentRequest.decided_at
        ).where(ConsentRequest.status == "expired", ConsentRequest.decided_at >= now - EXPIRED_LOOKBACK)
    ).all()
    kids = _children(session, [d.request_id for d, _ in decisions] + [r.id for r in expired])
    rows = [
        {
            "parent_id": parent_id,
            "kind": f"consent_{d.decision}",
            "source": f"consent:{d.request_id}:{d.attempt}",
            "pupil_id": None,
            "display": kids.get(d.request_id, "")[:40],
            "at": d.at,
        }
        for d, parent_id in decisions
    ] + [
        {
            "parent_id": r.parent_id,
            "kind": "consent_expired",
            "source": f"consent:{r.id}:{r.attempt}",
            "pupil_id": None,
            "display": kids.get(r.id, "")[:40],
            "at": r.decided_at,
        }
        for r in expired
    ]
    added += _add(session, rows, now)
    if decisions:
        cursor.position = decisions[-1][0].id
    return added


def _children(session: Session, request_ids: list[int]) -> dict[int, str]:
    out: dict[int, list[str]] = defaultdict(list)
    if request_ids:
        for rid, display in session.execute(
            select(ConsentSubject.request_id, Pupil.display)
            .join(Pupil, Pupil.id == ConsentSubject.pupil_id)
            .where(ConsentSubject.request_id.in_(sorted(set(request_ids))))
            .order_by(Pupil.id)
        ):
            out[rid].append(display)
    return {rid: ", ".join(names) for rid, names in out.items()}


def payload(notice: ParentNoticeRow, language: str) -> bytes:
    """What the browser shows: title and text in the language the parent subscribed in."""
    tr = i18n.translations(language if language in i18n.LANGUAGES else i18n.DEFAULT)
    title = tr.gettext(texts.NOTICE_KINDS.get(notice.kind, texts.GENERIC_ERROR))
    when = notice.at.astimezone(KZ_TZ).strftime("%d.%m %H:%M")
    body = f"{notice.display} · {when}" if notice.display else when
    return json.dumps(
        {"title": title, "body": body, "url": "/notifications", "tag": notice.source}, ensure_ascii=False
    ).encode()


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def push_pending(
    session_factory: sessionmaker[Session], sender: PushSender, *, now: datetime, max_attempts: int
) -> DeliveryReport:
    """Step 2. No transaction is held while a push service answers: claim, send, record."""
    report = DeliveryReport()
    with session_factory() as session, session.begin():
        # claimed under row locks another worker skips, and leased: a worker that dies mid-send leaves
        # its notices to be pushed again after PUSH_LEASE (at-least-once), never to two workers at once
        due = session.execute(
            for_update(
                session,
                select(ParentNoticeRow.id, ParentNoticeRow.parent_id)
                .where(ParentNoticeRow.push_done_at.is_(None), ParentNoticeRow.next_push_at <= now)
                .order_by(ParentNoticeRow.id)
                .limit(BATCH),
                skip_locked=True,
            )
        ).all()
        if due:
            session.execute(
                update(ParentNoticeRow)
                .where(ParentNoticeRow.id.in_([d.id for d in due]))
                .values(next_push_at=now + PUSH_LEASE)
            )
        subs: dict[int, list[PushSubscriptionRow]] = defaultdict(list)
        parent_ids = sorted({d.parent_id for d in due})
        if parent_ids:
            for s in session.scalars(
                select(PushSubscriptionRow).where(PushSubscriptionRow.parent_id.in_(parent_ids))
            ):
                subs[s.parent_id].append(s)
        done_before = {
            (d.notice_id, d.subscription_id)
            for d in session.execute(
                select(PushDeliveryRow.notice_id, PushDeliveryRow.subscription_id).where(
                    PushDeliveryRow.notice_id.in_([d.id for d in due] or [0]),
                    PushDeliveryRow.outcome == "sent",
                )
            )
        }
    for notice_id, parent_id in due:
        with session_factory() as session:
            notice = session.get(ParentNoticeRow, notice_id)
            assert notice is not None
            todo = [
                (s.id, Subscription(s.endpoint, s.p256dh, s.auth), payload(notice, s.language))
                for s in subs.get(parent_id, [])
                if (notice_id, s.id) not in done_before
            ]
        results: list[tuple[int, PushResult]] = []
        for sub_id, sub, body in todo:
            results.append((sub_id, sender.send(sub, body)))
        with session_factory() as session, session.begin():
            notice = session.get(ParentNoticeRow, notice_id)
            assert notice is not None
            retry = False
            for sub_id, result in results:
                outcome = (
                    "sent"
                    if result.delivered
                    else "gone"
                    if result.gone
                    else "retry"
                    if result.retry
                    else "gave_up"
                )
                session.add(
                    PushDeliveryRow(
                        notice_id=notice_id,
                        subscription_id=sub_id,
                        outcome=outcome,
                        status=result.status,
                        detail=result.detail or None,
                        at=now,
                    )
                )
                if result.delivered:
                    report.pushed += 1
                    row = session.get(PushSubscriptionRow, sub_id)
                    if row is not None:
                        row.last_success_at = now
                elif result.gone:
                    report.gone += 1
                    row = session.get(PushSubscriptionRow, sub_id)
                    if row is not None:
                        session.delete(row)
                elif result.retry:
                    retry = True
            if retry:
                notice.push_attempts += 1
                report.retried += 1
                if notice.push_attempts >= max_attempts:
                    notice.push_done_at = now
                    log.warning("notice %s: push given up after %s attempts", notice_id, notice.push_attempts)
                else:
                    notice.next_push_at = now + backoff(notice.push_attempts)
            else:
                notice.push_done_at = now
    return report


def digest_text(language: str, counts: dict[str, Counter[str]]) -> str:
    """The day's notices per child, in the SMS language of the parent's record (kk, ru or both)."""
    parts = []
    for lang in ("kk", "ru") if language not in ("kk", "ru") else (language,):
        tr = i18n.translations(lang)
        lines = [tr.gettext("School meals today:")]
        for child, kinds in sorted(counts.items()):
            meals = kinds.pop("meal_served", 0)
            if meals:
                lines.append(
                    tr.ngettext("%(child)s ate %(num)d time.", "%(child)s ate %(num)d times.", meals)
                    % {"child": child, "num": meals}
                )
            for kind in sorted(kinds):
                lines.append(f"{child}: {tr.gettext(texts.NOTICE_KINDS[kind])}.")
            kinds["meal_served"] = meals
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def send_digests(session: Session, now: datetime) -> int:
    """Step 3, in the caller's transaction: one digest per opted-in parent per school-local day."""
    local = now.astimezone(KZ_TZ)
    if local.time() < DIGEST_AT:
        return 0
    day = local.date()
    start = datetime.combine(day, time(), KZ_TZ)
    serialise(session, "sms_digests")  # a second worker waits, then finds the digests already queued
    rows = session.execute(
        select(Parent.id, Parent.phone, Parent.language)
        .join(NotifyPreferenceRow, NotifyPreferenceRow.parent_id == Parent.id)
        .where(NotifyPreferenceRow.sms_digest.is_(True), Parent.phone.is_not(None))
    ).all()
    sent = 0
    for parent_id, phone, language in rows:
        if phone is None:  # the query keeps only parents with a phone
            continue
        if session.scalar(
            select(SmsDigestRow.id).where(SmsDigestRow.parent_id == parent_id, SmsDigestRow.day == day)
        ):
            continue
        notices = session.scalars(
            select(ParentNoticeRow).where(
                ParentNoticeRow.parent_id == parent_id,
                ParentNoticeRow.at >= start,
                ParentNoticeRow.at < start + timedelta(days=1),
            )
        ).all()
        if not notices:
            continue
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for n in notices:
            counts[n.display or "—"][n.kind] += 1
        queue_sms(session, phone=phone, body=digest_text(language, counts), kind="digest", now=now)
        session.add(SmsDigestRow(parent_id=parent_id, day=day, notices=len(notices), at=now))
        sent += 1
    return sent


def deliver(
    session_factory: sessionmaker[Session], sender: PushSender | None, *, now: datetime, max_attempts: int
) -> DeliveryReport:
    """One pass of the worker over every channel; the SMS digests wait in the SMS outbox after it."""
    report = DeliveryReport()
    with session_factory() as session, session.begin():
        report.collected = collect(session, now)
    if sender is not None:
        pushed = push_pending(session_factory, sender, now=now, max_attempts=max_attempts)
        report.pushed, report.retried, report.gone = pushed.pushed, pushed.retried, pushed.gone
    with session_factory() as session, session.begin():
        report.digests = send_digests(session, now)
    return report

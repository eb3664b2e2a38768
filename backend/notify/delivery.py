"""The delivery of parent notices, in three steps, each in its own unit of work:

1. collect: every source of notices becomes rows of the parents' in-app list. The sources belong to
   other features (the meal outbox here, the vouchers' audit trail, consent outcomes), so the caller
   hands in the step (`Collect`) that reads them through their published read functions and stores
   what it found with `add_notices`, reading positions with `cursor_at` / `move_cursor`;
2. push: each new notice goes to every browser the parent subscribed, with retries and backoff; a
   subscription the push service calls gone (404/410) is removed; each attempt is recorded;
3. digest: parents who opted in get one SMS a day summing up the day's notices.

The words (push title and text, the digest SMS) come from the caller too (`NoticeWords`): they are the
web package's translations.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.adapters.dialect import among, insert_ignore
from backend.adapters.locking import for_update, serialise
from backend.clock import KZ_TZ
from backend.roster.tables import Guardianship, Parent, Pupil
from backend.sms.outbox import queue_sms
from backend.unit_of_work import UnitOfWork

from .delivery_tables import (
    NotifyCursorRow,
    NotifyPreferenceRow,
    ParentNoticeRow,
    PushDeliveryRow,
    PushSubscriptionRow,
    SmsDigestRow,
)
from .model import PushOutcome, pick_guardian
from .webpush import PushResult, PushSender, Subscription

log = logging.getLogger(__name__)
BATCH = 500
PUSH_LEASE = timedelta(minutes=10)
DIGEST_AT = time(19, 0)  # school-local time after which the day's digest goes out
KIND_MEAL = "meal_served"


Collect = Callable[[Session, datetime], int]  # step 1: stores the sources' new notices, returns how many


@dataclass(frozen=True, slots=True)
class Notice:
    parent_id: int
    kind: str
    source: str  # unique per parent: the same source never makes a second notice
    pupil_id: int | None
    display: str
    at: datetime


class NoticeWords(Protocol):
    """A notice's words in the reader's language."""

    def push(self, notice: Notice, language: str) -> bytes:
        """The push message's payload: title, text, link and tag, as the browser shows it."""
        ...

    def digest(self, language: str, counts: dict[str, Counter[str]]) -> str:
        """The day's SMS digest: notice kinds counted per child's display."""
        ...


@dataclass
class DeliveryReport:
    collected: int = 0
    pushed: int = 0
    retried: int = 0
    gone: int = 0
    digests: int = 0


def _cursor(session: Session, name: str) -> NotifyCursorRow:
    # a missing cursor is inserted if absent, then locked: two workers on a fresh database both find it
    insert_ignore(session, NotifyCursorRow, [{"name": name, "position": 0}], key="name")
    return session.scalars(
        for_update(session, select(NotifyCursorRow).where(NotifyCursorRow.name == name))
    ).one()


def _notice(row: ParentNoticeRow) -> Notice:
    return Notice(row.parent_id, row.kind, row.source, row.pupil_id, row.display or "", row.at)


def cursor_at(session: Session, name: str) -> int:
    """Where a source's reading stopped (0 at first); the cursor's row stays locked until commit."""
    return _cursor(session, name).position


def move_cursor(session: Session, name: str, position: int) -> None:
    _cursor(session, name).position = position


def add_notices(session: Session, rows: Iterable[Notice], now: datetime) -> int:
    """New notices; one already in a parent's list (same source) is left as it is."""
    todo = list(rows)
    if not todo:
        return 0
    known: set[tuple[str, int]] = {
        (source, parent_id)
        for source, parent_id in session.execute(
            select(ParentNoticeRow.source, ParentNoticeRow.parent_id).where(
                ParentNoticeRow.source.in_(sorted({r.source for r in todo}))
            )
        )
    }
    added = 0
    for r in todo:
        if (r.source, r.parent_id) in known:
            continue
        known.add((r.source, r.parent_id))
        session.add(
            ParentNoticeRow(
                parent_id=r.parent_id,
                kind=r.kind,
                source=r.source,
                pupil_id=r.pupil_id,
                display=r.display,
                at=r.at,
                created_at=now,
                next_push_at=now,
                push_attempts=0,
            )
        )
        added += 1
    return added


def guardians(session: Session, pupil_ids: Iterable[int]) -> dict[int, list[int]]:
    """The parents each pupil's notices go to."""
    out: dict[int, list[int]] = defaultdict(list)
    ids = sorted(set(pupil_ids))
    if ids:
        for pupil_id, parent_id in session.execute(
            select(Guardianship.pupil_id, Guardianship.parent_id).where(Guardianship.pupil_id.in_(ids))
        ):
            out[pupil_id].append(parent_id)
    return out


def add_meal_notices(session: Session, meals: Iterable[tuple[bytes, int, datetime]], now: datetime) -> int:
    """Served meals, (event id, pupil, served at), as notices to each pupil's guardian by pick_guardian
    (one with a phone first, then the role order); a meal already noticed is left as it is."""
    todo = list(meals)
    pupil_ids = sorted({pupil for _, pupil, _ in todo})
    if not pupil_ids:
        return 0
    family: dict[int, list[tuple[int, str, bool]]] = defaultdict(list)
    for pupil_id, parent_id, role, phone in session.execute(
        select(Guardianship.pupil_id, Parent.id, Guardianship.role, Parent.phone)
        .join(Parent, Parent.id == Guardianship.parent_id)
        .where(among(session, Guardianship.pupil_id, pupil_ids))
    ):
        family[pupil_id].append((parent_id, role, phone is not None))
    displays = {
        pupil_id: display
        for pupil_id, display in session.execute(
            select(Pupil.id, Pupil.display).where(among(session, Pupil.id, pupil_ids))
        )
    }
    notices = []
    for event_id, pupil_id, at in todo:
        guardian = pick_guardian(family.get(pupil_id, ()))
        if guardian is not None:
            source = meal_source(event_id)
            notices.append(Notice(guardian, KIND_MEAL, source, pupil_id, displays.get(pupil_id, ""), at))
    return add_notices(session, notices, now)


def meal_source(event_id: bytes) -> str:
    return f"meal:{event_id.hex()}"


def meal_notified_at(session: Session, event_ids: Iterable[bytes]) -> dict[bytes, datetime]:
    """For each of these meal events whose notice is in a parent's list: since when."""
    sources = {meal_source(e): e for e in event_ids}
    if not sources:
        return {}
    stmt = (
        select(ParentNoticeRow.source, func.min(ParentNoticeRow.created_at))
        .where(among(session, ParentNoticeRow.source, sorted(sources)))
        .group_by(ParentNoticeRow.source)
    )
    return {sources[source]: at for source, at in session.execute(stmt)}


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def push_pending(
    session_factory: sessionmaker[Session],
    sender: PushSender,
    words: NoticeWords,
    *,
    now: datetime,
    max_attempts: int,
) -> DeliveryReport:
    """Step 2. No transaction is held while a push service answers: claim, send, record."""
    report = DeliveryReport()
    with UnitOfWork(session_factory) as uow:
        session = uow.session
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
        # Plain values, not rows: they are used after this unit of work has ended.
        subs: dict[int, list[tuple[int, Subscription, str]]] = defaultdict(list)
        parent_ids = sorted({d.parent_id for d in due})
        if parent_ids:
            for s in session.scalars(
                select(PushSubscriptionRow).where(PushSubscriptionRow.parent_id.in_(parent_ids))
            ):
                subs[s.parent_id].append((s.id, Subscription(s.endpoint, s.p256dh, s.auth), s.language))
        done_before = {
            (d.notice_id, d.subscription_id)
            for d in session.execute(
                select(PushDeliveryRow.notice_id, PushDeliveryRow.subscription_id).where(
                    PushDeliveryRow.notice_id.in_([d.id for d in due] or [0]),
                    PushDeliveryRow.outcome == PushOutcome.SENT,
                )
            )
        }
        uow.commit()  # the claim
    for notice_id, parent_id in due:
        with UnitOfWork(session_factory) as uow:
            session = uow.session
            notice = session.get(ParentNoticeRow, notice_id)
            assert notice is not None
            todo = [
                (sub_id, sub, words.push(_notice(notice), language))
                for sub_id, sub, language in subs.get(parent_id, [])
                if (notice_id, sub_id) not in done_before
            ]
        results: list[tuple[int, PushResult]] = []
        for sub_id, sub, body in todo:
            results.append((sub_id, sender.send(sub, body)))
        with UnitOfWork(session_factory) as uow:
            session = uow.session
            notice = session.get(ParentNoticeRow, notice_id)
            assert notice is not None
            retry = False
            for sub_id, result in results:
                outcome = (
                    PushOutcome.SENT
                    if result.delivered
                    else PushOutcome.GONE
                    if result.gone
                    else PushOutcome.RETRY
                    if result.retry
                    else PushOutcome.GAVE_UP
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
            uow.commit()
    return report


def send_digests(session: Session, words: NoticeWords, now: datetime) -> int:
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
        queue_sms(session, phone=phone, body=words.digest(language, counts), kind="digest", now=now)
        session.add(SmsDigestRow(parent_id=parent_id, day=day, notices=len(notices), at=now))
        sent += 1
    return sent


def deliver(
    session_factory: sessionmaker[Session],
    collect: Collect,
    words: NoticeWords,
    sender: PushSender | None,
    *,
    now: datetime,
    max_attempts: int,
) -> DeliveryReport:
    """One pass of the worker over every channel; the SMS digests wait in the SMS outbox after it."""
    report = DeliveryReport()
    with UnitOfWork(session_factory) as uow:
        session = uow.session
        report.collected = collect(session, now)
        uow.commit()
    if sender is not None:
        pushed = push_pending(session_factory, sender, words, now=now, max_attempts=max_attempts)
        report.pushed, report.retried, report.gone = pushed.pushed, pushed.retried, pushed.gone
    with UnitOfWork(session_factory) as uow:
        session = uow.session
        report.digests = send_digests(session, words, now)
        uow.commit()
    return report

"""Two worker processes racing on PostgreSQL send no SMS, notice, digest or timed job's output twice.

Each "worker" is a thread with its own engine (its own connections, as a process would have); a barrier
starts them together and the fakes at the library boundary (SMS gateway, push service) are slow enough
that both are inside the same pass at once."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.clock import KZ_TZ, FixedClock
from backend.db import init_schema, make_engine, make_session_factory
from backend.notify.delivery import push_pending, send_digests
from backend.notify.delivery_tables import NotifyPreferenceRow, ParentNoticeRow, PushSubscriptionRow
from backend.notify.outbox import OutboxNotifier
from backend.notify.tables import MealNoticeBatchRow
from backend.notify.webpush import PushResult, Subscription
from backend.roster.tables import Parent
from backend.sms.outbox import dispatch_pending, queue_sms
from backend.sms.tables import SmsMessage
from backend.timers.store import run_due, schedule
from backend.web.notice_worker import Words, collect

from .seed import seed_schools

NOW = datetime(2026, 9, 14, 20, 0, tzinfo=KZ_TZ)  # after the day's digest hour
PARENTS = 40
Factory = sessionmaker[Session]


@pytest.fixture
def workers(fresh_postgres_url: str) -> Iterator[tuple[Factory, Factory]]:
    init_schema(fresh_postgres_url)
    engines = [make_engine(fresh_postgres_url), make_engine(fresh_postgres_url)]
    with make_session_factory(engines[0])() as s, s.begin():
        for p in range(1, PARENTS + 1):
            s.add(
                Parent(id=p, iin=f"{p:012d}", full_name=f"Parent {p}", phone=f"+7701{p:07d}", language="ru")
            )
        s.flush()
        for p in range(1, PARENTS + 1):
            s.add(NotifyPreferenceRow(parent_id=p, sms_digest=True))
            s.add(PushSubscriptionRow(parent_id=p, endpoint=f"https://push.example/{p}", p256dh="k", auth="a",
                                      language="ru", created_at=NOW))  # fmt: skip
            s.add(ParentNoticeRow(parent_id=p, kind="meal_served", source=f"meal:{p}", pupil_id=None,
                                  display="A. 3A", at=NOW - timedelta(hours=8), created_at=NOW, next_push_at=NOW))  # fmt: skip
    yield make_session_factory(engines[0]), make_session_factory(engines[1])
    for e in engines:
        e.dispose()


def race(*passes: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(passes))
    results: list[Any] = [None] * len(passes)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = passes[i]()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(passes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


class SlowGateway:
    def __init__(self) -> None:
        self.sent: list[int] = []

    def send(self, message_id: int, phone: str, body: str) -> str:
        time.sleep(0.002)
        self.sent.append(message_id)
        return f"p{message_id}"


class SlowPush:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, subscription: Subscription, payload: bytes) -> PushResult:
        time.sleep(0.002)
        self.sent.append(subscription.endpoint)
        return PushResult(201)


def test_sms_outbox_sends_each_message_once(workers: tuple[Factory, Factory]) -> None:
    with workers[0]() as s, s.begin():
        for p in range(200):
            queue_sms(s, phone=f"+7702{p:07d}", body="x", kind="test", now=NOW)
    gateway = SlowGateway()
    clock = FixedClock(NOW)
    counts = race(*(lambda f=f: dispatch_pending(f, gateway, clock, batch=20) for f in workers))
    assert sum(counts) == 200 and all(counts)  # both took part
    assert len(gateway.sent) == len(set(gateway.sent)) == 200


def test_meal_notices_are_expanded_once(workers: tuple[Factory, Factory], fresh_postgres_url: str) -> None:
    """600 queued meals in 200 outbox rows, more than one pass takes: the two workers take rows side by
    side (DELETE … RETURNING under SKIP LOCKED) and every meal becomes exactly one parent's notice."""
    dsn = fresh_postgres_url.replace("+psycopg", "")
    [terminal] = seed_schools(dsn, 1, 600)
    served = NOW - timedelta(hours=8)
    meals = [(os.urandom(16), v) for v in terminal.vouchers]  # (event id, voucher = pupil)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for i, (_, pupil) in enumerate(meals):
            cur.execute(
                "INSERT INTO guardianships (pupil_id, parent_id, role) VALUES (%s, %s, 'mother')",
                (pupil, i % PARENTS + 1),
            )
        cur.executemany(
            "INSERT INTO meal_events (id, terminal_id, school_id, voucher_id, pupil_id, plan, slot, served_at,"
            " local_date, method, token_serial, wall_trusted, boot_id, seq, received_at, status, flags)"
            " VALUES (%s, %s, %s, %s, %s, 1, 1, %s, %s, 1, 1, true, %s, %s, %s, 'ok', '[]')",
            [(event_id, terminal.terminal_id, terminal.school_id, pupil, pupil, served,
              served.astimezone(KZ_TZ).date(), b"\x00" * 16, i, NOW) for i, (event_id, pupil) in enumerate(meals)],
        )  # fmt: skip
        conn.commit()
    with workers[0]() as s, s.begin():
        for i in range(0, len(meals), 3):
            OutboxNotifier(lambda: NOW).meals_served(s, terminal.school_id, [e for e, _ in meals[i : i + 3]])

    def expand(f: Factory) -> int:
        added = 0
        while True:
            with f() as s, s.begin():
                n = collect(s, NOW)
            if n == 0:
                return added
            added += n

    counts = race(*(lambda f=f: expand(f) for f in workers))
    assert sum(counts) == len(meals) and all(counts)  # both took part
    with workers[0]() as s:
        mine = select(ParentNoticeRow.source).where(
            ParentNoticeRow.pupil_id.is_not(None)
        )  # not the seeded ones
        sources = s.scalars(mine).all()
        assert s.scalar(select(func.count()).select_from(MealNoticeBatchRow)) == 0
    assert sorted(sources) == sorted(f"meal:{event_id.hex()}" for event_id, _ in meals)


def test_push_notices_go_out_once(workers: tuple[Factory, Factory]) -> None:
    push = SlowPush()
    race(*(lambda f=f: push_pending(f, push, Words(), now=NOW, max_attempts=5) for f in workers))
    assert Counter(push.sent) == {f"https://push.example/{p}": 1 for p in range(1, PARENTS + 1)}


def test_daily_digest_once_per_parent(workers: tuple[Factory, Factory]) -> None:
    def digests(f: Factory) -> int:
        with f() as s, s.begin():
            return send_digests(s, Words(), NOW)

    counts = race(*(lambda f=f: digests(f) for f in workers))
    assert sum(counts) == PARENTS
    with workers[0]() as s:
        phones = [m.phone for m in s.query(SmsMessage).filter(SmsMessage.kind == "digest")]
    assert len(phones) == len(set(phones)) == PARENTS


def test_timed_jobs_run_once(workers: tuple[Factory, Factory]) -> None:
    with workers[0]() as s, s.begin():
        for j in range(60):
            schedule(s, kind="daily_report", key=f"report:{j}", due_at=NOW, payload={"school": j})
    ran: list[int] = []

    def report(session: Session, payload: dict[str, Any], now: datetime) -> str:
        time.sleep(0.002)
        queue_sms(session, phone="+77010000000", body=f"report {payload['school']}", kind="report", now=now)
        ran.append(payload["school"])
        return "sent"

    counts = race(*(lambda f=f: run_due(f, NOW, {"daily_report": report}) for f in workers))
    assert sum(counts) == 60
    assert sorted(ran) == list(range(60))
    with workers[0]() as s:
        assert s.query(SmsMessage).filter(SmsMessage.kind == "report").count() == 60

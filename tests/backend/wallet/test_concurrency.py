"""Timers and replies under concurrency: never two SMS for one timer, never two decisions for one request.

Run on both databases; on PostgreSQL the threads really overlap (row locks, SKIP LOCKED), on SQLite the
writers are serialised by BEGIN IMMEDIATE.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from backend.app import create_app
from backend.clock import FixedClock
from backend.config import Settings
from backend.consent.services import handle_reply, make_handlers
from backend.consent.tables import ConsentRequest
from backend.context import AppContext
from backend.sms.tables import SmsMessage
from backend.timers.store import run_due, schedule
from backend.timers.tables import ScheduledJob
from backend.unit_of_work import UnitOfWork

from .conftest import CAT

N_THREADS = 6


def _parallel(fn: Callable[[int], Any], n: int = N_THREADS) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_concurrent_timer_runs_send_one_reminder_each(
    ctx: AppContext,
    clock: FixedClock,
    checked_list: Callable[..., tuple[int, dict[str, Any]]],
    make_school: Callable[..., int],
    registered_child: Callable[..., int],
) -> None:
    school = make_school()
    pupils = [registered_child(school, f"+7702000000{i}") for i in range(3)]
    checked_list(school, [(p, CAT) for p in pupils])
    clock.advance(timedelta(days=3))
    handlers = make_handlers(ctx.settings)
    ran = _parallel(lambda _i: run_due(ctx.session_factory, clock.now(), handlers))
    assert sum(ran) == 3  # three reminder jobs, each run by exactly one thread
    with ctx.session_factory() as s:
        reminders = s.scalar(
            select(func.count()).select_from(SmsMessage).where(SmsMessage.kind == "reminder")
        )
        assert reminders == 3
        assert (
            s.scalar(
                select(func.count()).select_from(ScheduledJob).where(ScheduledJob.kind == "consent.close")
            )
            == 3
        )


def test_concurrent_replies_make_one_decision(
    ctx: AppContext,
    checked_list: Callable[..., tuple[int, dict[str, Any]]],
    make_school: Callable[..., int],
    registered_child: Callable[..., int],
) -> None:
    school = make_school()
    pupil = registered_child(school, "+77023334455")
    checked_list(school, [(pupil, CAT)])

    def reply(i: int) -> str:
        with UnitOfWork(ctx.session_factory) as uow:
            text = "3#1" if i % 2 == 0 else "3#2"
            return handle_reply(
                uow, phone="+77023334455", text=text, settings=ctx.settings, now=ctx.clock.now()
            ).outcome

    outcomes = _parallel(reply)
    decided = [o for o in outcomes if o in ("agreed", "declined")]
    assert len(decided) == 1 and outcomes.count("no_pending") == N_THREADS - 1
    with ctx.session_factory() as s:
        req = s.scalars(select(ConsentRequest)).one()
        assert req.status == decided[0]
        answers = s.scalar(
            select(func.count()).select_from(SmsMessage).where(SmsMessage.kind.in_(["agreed", "declined"]))
        )
        assert answers == 1


def test_timers_survive_a_restart(settings: Settings, clock: FixedClock, ctx: AppContext) -> None:
    with ctx.session_factory() as s, s.begin():
        assert schedule(
            s, kind="test.kind", key="k1", due_at=clock.now() + timedelta(hours=1), payload={"x": 1}
        )
        assert not schedule(s, kind="test.kind", key="k1", due_at=clock.now(), payload={})  # same key: no-op
    ctx.engine.dispose()
    # a new process: new engine, new handlers
    app2 = create_app(settings, clock=clock)
    ctx2: AppContext = app2.state.ctx
    seen: list[dict[str, Any]] = []

    def handler(_s: Any, payload: dict[str, Any], _now: Any) -> str:
        seen.append(payload)
        return "ok"

    assert run_due(ctx2.session_factory, clock.now(), {"test.kind": handler}) == 0
    clock.advance(timedelta(hours=1))
    assert run_due(ctx2.session_factory, clock.now(), {"test.kind": handler}) == 1
    assert run_due(ctx2.session_factory, clock.now(), {"test.kind": handler}) == 0
    assert seen == [{"x": 1}]
    ctx2.engine.dispose()


def test_failing_job_is_put_off_and_does_not_block_others(ctx: AppContext, clock: FixedClock) -> None:
    with ctx.session_factory() as s, s.begin():
        schedule(s, kind="bad", key="bad-1", due_at=clock.now(), payload={})
        schedule(s, kind="good", key="good-1", due_at=clock.now() + timedelta(seconds=1), payload={})
    done: list[str] = []

    def bad(_s: Any, _p: dict[str, Any], _n: Any) -> str:
        raise RuntimeError("provider exploded")

    def good(_s: Any, _p: dict[str, Any], _n: Any) -> str:
        done.append("good")
        return "ok"

    clock.advance(timedelta(seconds=1))
    assert run_due(ctx.session_factory, clock.now(), {"bad": bad, "good": good}) == 2
    assert done == ["good"]
    with ctx.session_factory() as s:
        job = s.scalars(select(ScheduledJob).where(ScheduledJob.key == "bad-1")).one()
        assert job.done_at is None and job.outcome == "error: provider exploded"
        assert job.due_at == clock.now() + timedelta(minutes=5)

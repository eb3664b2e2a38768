"""Migration 0014_ingestfloor down to 0013_map304 and up again, on SQLite and PostgreSQL, with meals
waiting for their notices: each crossing keeps them queued, and after both the worker tells the pupil's
guardian once per meal (a meal without a guardian to tell: no one)."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from backend.clock import FixedClock
from backend.context import AppContext
from backend.db import alembic_config, init_schema, make_engine
from backend.notify.delivery import meal_source
from backend.unit_of_work import UnitOfWork

from .conftest import LUNCH, Setup
from .test_ingest import EVENING, queued, worker_pass


def test_queued_meals_cross_the_migration_both_ways(
    client: TestClient, clock: FixedClock, ctx: AppContext, uow_factory: Callable[[], UnitOfWork],
    setup: Setup, make_pupil: Callable[..., int], make_voucher: Callable[..., int],
) -> None:  # fmt: skip
    lonely = make_voucher(make_pupil(setup.school_id), setup.school_id)  # no guardian linked
    d = setup.device
    clock.set(EVENING)
    told, alone = d.event(setup.voucher_id, LUNCH), d.event(lonely, LUNCH)
    assert d.upload(client, d.batch([told, alone])).json()["accepted"] == 2
    assert queued(uow_factory) == 2
    ctx.engine.dispose()
    url = ctx.engine.url.render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0013_map304")
        assert "meal_notice_batches" not in inspect(engine).get_table_names()
        with engine.connect() as conn:
            outbox = conn.execute(text("SELECT event_id, parent_id, sent_at FROM notification_outbox")).all()
        assert sorted((bytes(e), p, s) for e, p, s in outbox) == sorted(
            [(told.event_id, setup.parent_id, None), (alone.event_id, None, None)]
        )
        init_schema(engine)
        assert "notification_outbox" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    assert queued(uow_factory) == 2
    [notice] = worker_pass(uow_factory, clock.now())
    assert (notice.parent_id, notice.source) == (setup.parent_id, meal_source(told.event_id))
    assert queued(uow_factory) == 0 and len(worker_pass(uow_factory, clock.now())) == 1

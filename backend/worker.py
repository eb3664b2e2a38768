"""The worker process: due timers (each feature registers its handlers here), voucher expiry, the day's
allowlist refresh, the school year's jobs (daily report, month-end acts, pushes to the state systems)
and the SMS outbox. `python -m backend.worker` runs it against SM_DATABASE_URL."""

from __future__ import annotations

import time
from collections.abc import Mapping

from backend.clock import local_date
from backend.config import Settings
from backend.consent.services import make_handlers as consent_handlers
from backend.context import AppContext, build_context
from backend.fleet.allowlist import ALLOWLIST_REFRESH, refresh_handler
from backend.imports.jobs import reap_stale
from backend.ingest.partitions import maintain as maintain_partitions
from backend.safety import check_production
from backend.sms.outbox import dispatch_pending
from backend.sms.sealing import seal_key
from backend.throttle.store import prune as prune_throttles
from backend.timers.store import Handler, run_due, schedule
from backend.unit_of_work import UnitOfWork
from backend.vouchers.services import expire_vouchers
from backend.web.notice_worker import deliver_notices

from . import year_jobs


def handlers(ctx: AppContext) -> Mapping[str, Handler]:
    return {
        **consent_handlers(ctx.settings),
        ALLOWLIST_REFRESH: refresh_handler(ctx.keys),
        **year_jobs.handlers(),
    }


def tick(ctx: AppContext) -> dict[str, int]:
    """One pass of the worker: due timers (the day's allowlist refresh, daily report and month-end acts
    among them), voucher expiry, parent notices (in-app list, Web Push, SMS digest), the SMS outbox,
    then documents to the state systems."""
    now = ctx.clock.now()
    with UnitOfWork(ctx.session_factory) as uow:
        # Once per school-local day, whatever the number of workers: the key makes it unique.
        key = f"{ALLOWLIST_REFRESH}:{local_date(now)}"
        schedule(uow.session, kind=ALLOWLIST_REFRESH, key=key, due_at=now, payload={})
        year_jobs.schedule_day(uow.session, now)
        uow.commit()
    jobs = run_due(ctx.session_factory, now, handlers(ctx))
    with UnitOfWork(ctx.session_factory) as uow:
        expired = expire_vouchers(uow, now=now)
    with UnitOfWork(ctx.session_factory) as uow:
        prune_throttles(uow.session, now)
        uow.commit()
    with UnitOfWork(ctx.session_factory) as uow:  # months ahead, retention (docs/scale.md)
        partitions = maintain_partitions(uow, now)
    interrupted = reap_stale(ctx.session_factory, now)  # imports whose runner is gone
    notices = deliver_notices(ctx)
    sent = dispatch_pending(
        ctx.session_factory, ctx.sms, ctx.clock, seal_key=seal_key(ctx.settings.pseudonym_secret)
    )
    pushed = year_jobs.push(ctx.session_factory, year_jobs.sinks_from(ctx.settings), now)
    return {
        "jobs": jobs,
        "expired": expired,
        "sms_sent": sent,
        "partitions_created": partitions.created,
        "partitions_detached": partitions.detached,
        "meal_rows_deleted": partitions.deleted,
        "documents_delivered": pushed["delivered"],
        "imports_interrupted": interrupted,
        **notices,
    }


def main(interval: float = 30.0) -> None:  # pragma: no cover - the long-running worker process
    settings = Settings.from_env()
    check_production(settings)  # before any database or key store is opened
    ctx = build_context(settings)
    while True:
        tick(ctx)
        time.sleep(interval)


if __name__ == "__main__":  # pragma: no cover
    main()

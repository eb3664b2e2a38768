"""Meal events and refusals by month on PostgreSQL: partitions made ahead, old ones detached to archive.

`meal_events` is partitioned by RANGE (local_date) and `meal_refusals` by RANGE (at), one partition per
school-local month in the `partitions` schema, plus a DEFAULT partition so that no row is ever refused
for want of one. The worker keeps MONTHS_AHEAD months ready and detaches the months past the retention
rule (docs/scale.md): a detached month stays as a plain table, `partitions.<name>`, readable by the
archive role only, and is dropped ARCHIVE_YEARS after it ends. On SQLite, the embedded default with no
partitioning, the same rule deletes the rows instead.

Declarative partitioning maintained by the worker rather than pg_partman: the job is two statements a
month, pg_partman would be one more extension to install, upgrade and grant on every server and replica
(and on a managed or Citus cluster), and its background worker would be a second scheduler beside ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from backend.clock import KZ_TZ, local_date
from backend.unit_of_work import UnitOfWork

from .tables import MealEventRow, MealFlagRow, RefusalRow

SCHEMA = "partitions"
MONTHS_AHEAD = 3
UTC_OFFSET = "+05"  # Kazakhstan's one time zone since March 2024: a local month's bounds for `at`


@dataclass(frozen=True, slots=True)
class Partitioned:
    table: str
    column: str
    timestamp: bool  # the key is a timestamptz (bounds at local midnight), else a date


MEALS = Partitioned("meal_events", "local_date", timestamp=False)
REFUSALS = Partitioned("meal_refusals", "at", timestamp=True)
TABLES = (MEALS, REFUSALS)
NAME = re.compile(r"^(meal_events|meal_refusals)_y(\d{4})m(\d{2})$")


@dataclass(frozen=True, slots=True)
class Retention:
    """Months a month stays attached after it ends, and years its detached archive is kept."""

    meal_months: int = 24  # two school years: billing, audits and parents' questions
    refusal_months: int = 12  # one school year: disputes at the counter
    archive_years: int = 5  # accounting records, then dropped

    def months(self, p: Partitioned) -> int:
        return self.meal_months if p is MEALS else self.refusal_months


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def partition_name(p: Partitioned, month: date) -> str:
    return f"{p.table}_y{month.year:04d}m{month.month:02d}"


def _bound(p: Partitioned, month: date) -> str:
    return f"'{month.isoformat()} 00:00:00{UTC_OFFSET}'" if p.timestamp else f"'{month.isoformat()}'"


def create_partition_sql(p: Partitioned, month: date) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{partition_name(p, month)} PARTITION OF {p.table} "
        f"FOR VALUES FROM ({_bound(p, month)}) TO ({_bound(p, add_months(month, 1))})"
    )


def _create_month(session: Session, p: Partitioned, month: date) -> None:
    """The month's partition; rows the DEFAULT partition took for that month (a terminal whose clock ran
    ahead) move into it, since PostgreSQL refuses a partition whose rows the default holds."""
    lo, hi = _bound(p, month), _bound(p, add_months(month, 1))
    default = f"{SCHEMA}.{p.table}_default"
    where = f"{p.column} >= {lo} AND {p.column} < {hi}"
    held = session.scalar(text(f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {where})"))  # noqa: S608
    if held:
        session.execute(
            text(
                f"CREATE TEMP TABLE moving_rows ON COMMIT DROP AS WITH m AS "  # noqa: S608 - constants
                f"(DELETE FROM {default} WHERE {where} RETURNING *) SELECT * FROM m"
            )
        )
    session.execute(text(create_partition_sql(p, month)))
    if held:
        session.execute(text(f"INSERT INTO {p.table} SELECT * FROM moving_rows"))  # noqa: S608
        session.execute(text("DROP TABLE moving_rows"))


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def attached(session: Session, p: Partitioned) -> dict[date, str]:
    """Month → partition name of the monthly partitions attached to `p`'s table."""
    rows = session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:t AS regclass)"
        ),
        {"t": p.table},
    ).scalars()
    return {date(int(m[2]), int(m[3]), 1): m[0] for name in rows if (m := NAME.match(name))}


def detached(session: Session) -> dict[str, date]:
    """Archived (detached) monthly tables in the partitions schema → their month."""
    names = session.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND c.relkind = 'r' AND NOT c.relispartition"
        ),
        {"s": SCHEMA},
    ).scalars()
    return {name: date(int(m[2]), int(m[3]), 1) for name in names if (m := NAME.match(name))}


@dataclass
class Maintenance:
    created: int = 0
    detached: int = 0
    dropped: int = 0
    deleted: int = 0  # SQLite: rows past retention


def maintain(uow: UnitOfWork, now: datetime, rule: Retention | None = None) -> Maintenance:
    """The worker's pass, committed: next months ready, expired ones detached (or, on SQLite, deleted),
    archives past their years dropped. Idempotent; copies of the worker may race (an advisory lock
    serialises them)."""
    done = _maintain(uow.session, now, rule or Retention())
    uow.commit()
    return done


def _maintain(session: Session, now: datetime, rule: Retention) -> Maintenance:
    today = month_start(local_date(now))
    done = Maintenance()
    if not _is_pg(session):
        return _delete_expired(session, today, rule)
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext('meal_partitions'))"))
    for p in TABLES:
        have = attached(session, p)
        for k in range(-1, MONTHS_AHEAD + 1):
            month = add_months(today, k)
            if month not in have:
                _create_month(session, p, month)
                done.created += 1
        cutoff = add_months(today, -rule.months(p))
        for month, name in sorted(have.items()):
            if month < cutoff:
                session.execute(text(f"ALTER TABLE {p.table} DETACH PARTITION {SCHEMA}.{name}"))
                done.detached += 1
    drop_before = add_months(today, -12 * rule.archive_years)
    for name, month in detached(session).items():
        if month < drop_before:
            session.execute(text(f"DROP TABLE {SCHEMA}.{name}"))
            done.dropped += 1
    return done


def _delete_expired(session: Session, today: date, rule: Retention) -> Maintenance:
    meal_cutoff = add_months(today, -rule.meal_months)
    old = select(MealEventRow.id).where(MealEventRow.local_date < meal_cutoff).scalar_subquery()
    session.execute(delete(MealFlagRow).where(MealFlagRow.event_id.in_(old)))
    meals = session.execute(delete(MealEventRow).where(MealEventRow.local_date < meal_cutoff))
    refusal_cutoff = datetime.combine(add_months(today, -rule.refusal_months), datetime.min.time(), KZ_TZ)
    refusals = session.execute(delete(RefusalRow).where(RefusalRow.at < refusal_cutoff))
    return Maintenance(deleted=_count(meals) + _count(refusals))


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)

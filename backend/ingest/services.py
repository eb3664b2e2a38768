"""Ingestion use case: one signed batch → one transaction, a handful of set-based queries, bulk inserts.

Idempotent by event id: every insert is `ON CONFLICT DO NOTHING RETURNING id`, so a replayed or
concurrently duplicated batch stores nothing twice, and the answer counts only what this call stored.
On PostgreSQL a transaction-scoped advisory lock per school serialises batches of one school, so the
double-meal and capacity rules see each other's meals; SQLite serialises writers anyway.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from backend.adapters.dialect import among, insert_records_ignore
from backend.clock import KZ_TZ
from backend.errors import DomainError
from backend.fleet.model import TerminalIdentity
from backend.fleet.services import mark_seen
from backend.notify.model import Notifier
from backend.unit_of_work import UnitOfWork
from shared_crypto import KeyRole, MealBatch, MealEvent, VerificationError, VerifyKey, verify_batch

from . import school_facts
from .model import (
    BILLABLE,
    Context,
    MealStatus,
    Terminal,
    classify,
    out_of_range,
    served_at,
)
from .school_facts import SchoolFactsCache
from .tables import MealEventRow, MealFlagRow
from .tables import RefusalRow as RefusalTable

LOCK_NAMESPACE = 0x5357_0001  # "SW" + 1: advisory locks of meal ingestion, keyed by school


class IngestReason(enum.StrEnum):
    WRONG_CONTENT_TYPE = "WRONG_CONTENT_TYPE"
    TOO_LARGE = "TOO_LARGE"
    KEY_MISMATCH = "KEY_MISMATCH"  # signed by another key than the authenticated terminal's
    TERMINAL_MISMATCH = "TERMINAL_MISMATCH"  # the batch names another terminal
    # an event the server cannot store (a wall time past year 9998, a counter over 2⁶³−1); the detail
    # names the events by seq, and the terminal quarantines them instead of retrying (device/uploader.py)
    EVENT_OUT_OF_RANGE = "EVENT_OUT_OF_RANGE"


class BatchRejected(DomainError):
    """A batch whose signature, structure or size shared_crypto refused (its reason code answers)."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int  # events stored by this call (meals and refusals)
    duplicates: int  # events already stored before
    flagged: int  # of the accepted meals, those held out of billing


class _OneKey:
    """KeyLookup with exactly the authenticated terminal's key."""

    def __init__(self, key: VerifyKey) -> None:
        self._key = key

    def lookup(self, kid: bytes, role: KeyRole, now: int | None, leeway: int) -> VerifyKey:
        if kid != self._key.kid or role is not KeyRole.DEVICE:
            raise DomainError(IngestReason.KEY_MISMATCH, "batch not signed by this terminal's key")
        return self._key


def verify(data: bytes, terminal: TerminalIdentity) -> MealBatch:
    try:
        _, batch = verify_batch(data, _OneKey(terminal.key), leeway=0)
    except VerificationError as e:
        raise BatchRejected(e.reason, e.detail) from None
    if batch.terminal_id != terminal.terminal_id:
        raise DomainError(
            IngestReason.TERMINAL_MISMATCH,
            f"batch of terminal {batch.terminal_id} sent by terminal {terminal.terminal_id}",
        )
    bad = [(e.seq, why) for e in batch.events if (why := out_of_range(e))]
    if bad:
        listed = "; ".join(f"seq {seq}: {why}" for seq, why in bad[:20])
        raise DomainError(IngestReason.EVENT_OUT_OF_RANGE, f"{len(bad)} events refused: {listed}")
    return batch


# PostgreSQL: the school's lock and its change counter in one round trip, as driver SQL (no statement
# compiled per batch). The counter needs no lock (ingestion never raises it): it only says whether the
# process's school facts are still current, and they are read after it (school_facts.py).
_LOCK_AND_COUNTER_SQL = (
    "SELECT pg_advisory_xact_lock(%s, %s), (SELECT version FROM allowlist_versions WHERE school_id = %s)"
)


def _lock_school(session: Session, school_id: int) -> int | None:
    """Serialise this school's batches; on PostgreSQL, returns the school's change counter too."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cur:
        row = cur.execute(_LOCK_AND_COUNTER_SQL, (LOCK_NAMESPACE, school_id, school_id)).fetchone()
    assert row is not None
    return int(row[1] or 0)


@dataclass(frozen=True, slots=True)
class _Past:
    """What the database holds that a batch is judged against."""

    stored: set[bytes]  # of the batch's events, those already stored
    # (voucher, local date, slot) → terminals that already have a (not rejected) meal there
    taken: dict[tuple[int, date, int], frozenset[int]]
    counts: dict[tuple[date, int], int]  # (local date, slot) → billable meals at the terminal's school


# PostgreSQL: the stored ids, the vouchers' meals and the slot counts in one statement and one round trip,
# as driver SQL (no statement compiled per batch; arrays sent in binary, %(…)b, which psycopg dumps several
# times faster than as text). SQLite runs the same three as SQLAlchemy statements. Every branch names the
# school(s) and the batch's local days, so only those months' partitions are read.
_PAST_SQL = (
    "SELECT 0, id, NULL::int, NULL::date, NULL::int, NULL::bigint FROM meal_events"
    " WHERE school_id = %(school)s AND local_date = ANY(%(days)b) AND id = ANY(%(ids)b)"
    " UNION ALL"
    " SELECT 1, NULL, voucher_id, local_date, slot, terminal_id FROM meal_events"
    " WHERE school_id = ANY(%(schools)b) AND voucher_id = ANY(%(vouchers)b) AND local_date = ANY(%(days)b)"
    " AND status <> %(rejected)s AND slot IS NOT NULL"
    " UNION ALL"
    " SELECT 2, NULL, NULL, local_date, slot, count(*) FROM meal_events"
    " WHERE school_id = %(school)s AND local_date = ANY(%(days)b) AND status = ANY(%(billable)b)"
    " AND slot IS NOT NULL GROUP BY local_date, slot"
)


def _past(
    session: Session,
    school_id: int,
    meals: Sequence[MealEvent],
    days: Sequence[date],
    voucher_schools: Sequence[int],
    voucher_ids: Sequence[int],
) -> _Past:
    """The meals already stored of these events, and the vouchers' meals and the school's billable
    counts on these days (`voucher_schools`: where these vouchers eat, their own schools and this one)."""
    if not meals:
        return _Past(set(), {}, {})
    stored: set[bytes] = set()
    acc: dict[tuple[int, date, int], set[int]] = defaultdict(set)
    counts: dict[tuple[date, int], int] = {}
    if session.get_bind().dialect.name == "postgresql":
        params = {
            "school": school_id,
            "days": list(days),
            "ids": [e.event_id for e in meals],
            "schools": list(voucher_schools),
            "vouchers": list(voucher_ids),
            "rejected": MealStatus.REJECTED_BY_ADMIN.value,
            "billable": list(BILLABLE),
        }
        for kind, event_id, voucher_id, day, slot, n in session.connection().exec_driver_sql(
            _PAST_SQL, params
        ):
            if kind == 0:
                stored.add(bytes(event_id))
            elif kind == 1:
                acc[(voucher_id, day, slot)].add(n)
            else:
                counts[(day, slot)] = n
        return _Past(stored, {k: frozenset(v) for k, v in acc.items()}, counts)
    stored = set(
        session.scalars(
            select(MealEventRow.id).where(
                MealEventRow.school_id == school_id,
                among(session, MealEventRow.local_date, days),
                among(session, MealEventRow.id, [e.event_id for e in meals]),
            )
        )
    )
    if voucher_ids:
        for voucher_id, day, slot, tid in session.execute(
            select(
                MealEventRow.voucher_id, MealEventRow.local_date, MealEventRow.slot, MealEventRow.terminal_id
            ).where(
                among(session, MealEventRow.school_id, voucher_schools),
                among(session, MealEventRow.voucher_id, voucher_ids),
                among(session, MealEventRow.local_date, days),
                MealEventRow.status != MealStatus.REJECTED_BY_ADMIN.value,
                MealEventRow.slot.is_not(None),
            )
        ):
            if voucher_id is not None and slot is not None:
                acc[(voucher_id, day, slot)].add(tid)
    for day, slot_no, n in session.execute(
        select(MealEventRow.local_date, MealEventRow.slot, func.count())
        .where(
            MealEventRow.school_id == school_id,
            among(session, MealEventRow.local_date, days),
            MealEventRow.status.in_(BILLABLE),
            MealEventRow.slot.is_not(None),
        )
        .group_by(MealEventRow.local_date, MealEventRow.slot)
    ):
        if slot_no is not None:
            counts[(day, slot_no)] = n
    return _Past(stored, {k: frozenset(v) for k, v in acc.items()}, counts)


def _stored_refusals(session: Session, school_id: int, refusals: Sequence[MealEvent]) -> set[bytes]:
    """Which refusals this school already stored: by school and the batch's time range as well as by id."""
    if not refusals:
        return set()
    times = [served_at(e) for e in refusals]
    return set(
        session.scalars(
            select(RefusalTable.id).where(
                RefusalTable.school_id == school_id,
                RefusalTable.at.between(min(times), max(times)),
                among(session, RefusalTable.id, [e.event_id for e in refusals]),
            )
        )
    )


def _context(
    session: Session,
    terminal: TerminalIdentity,
    events: Sequence[MealEvent],
    received_at: datetime,
    facts: SchoolFactsCache | None,
    version: int | None,
) -> tuple[set[bytes], Context]:
    """The batch's events already stored, and what its new ones are judged against (`version`: the
    school's change counter, when already read)."""
    served = [e for e in events if e.served]
    voucher_ids = sorted({e.voucher_id for e in served if e.voucher_id is not None})
    days = sorted({served_at(e).astimezone(KZ_TZ).date() for e in served})
    school = (
        facts.get(session, terminal.school_id, version)
        if facts is not None
        else school_facts.load(session, terminal.school_id, 0)
    )
    vouchers = {v: school.vouchers[v] for v in voucher_ids if v in school.vouchers}
    vouchers |= school_facts.voucher_facts(session, [v for v in voucher_ids if v not in school.vouchers])
    # where these vouchers eat: their own schools and this terminal's
    voucher_schools = sorted({terminal.school_id, *(v.school_id for v in vouchers.values())})
    past = _past(session, terminal.school_id, served, days, voucher_schools, voucher_ids)
    stored = past.stored | _stored_refusals(session, terminal.school_id, [e for e in events if not e.served])
    return stored, Context(
        terminal=Terminal(terminal.terminal_id, terminal.school_id, terminal.enrolled_at),
        received_at=received_at,
        calendar=school.calendar,
        vouchers=vouchers,
        taken=past.taken,
        counts=past.counts,
        active_vouchers=school.active_vouchers,
    )


def store_batch(
    uow: UnitOfWork,
    data: bytes,
    terminal: TerminalIdentity,
    *,
    received_at: datetime,
    notifier: Notifier,
    facts: SchoolFactsCache | None = None,
) -> IngestResult:
    """The terminal's upload: verified, stored and committed in one transaction. `facts`: the
    process's school facts (none: read them for this batch alone)."""
    result = ingest(
        uow.session, verify(data, terminal), terminal, received_at=received_at, notifier=notifier, facts=facts
    )
    uow.commit()
    return result


def ingest(
    session: Session,
    batch: MealBatch,
    terminal: TerminalIdentity,
    *,
    received_at: datetime,
    notifier: Notifier,
    facts: SchoolFactsCache | None = None,
) -> IngestResult:
    """Store a verified batch in the session's transaction; the caller commits."""
    version = _lock_school(session, terminal.school_id)
    # judged against what was stored before, this batch's own stored events included: a voucher's
    # meal already stored counts for its double-meal check whether it came in this batch or another
    existing, context = _context(session, terminal, batch.events, received_at, facts, version)
    new = [e for e in batch.events if e.event_id not in existing]
    meals, refusals = classify(new, context)
    stored = insert_records_ignore(session, MealEventRow, meals, key="id", any_key=True)
    stored_refusals = insert_records_ignore(session, RefusalTable, refusals, key="id", any_key=True)
    mine = [m for m in meals if m.id in stored]
    flagged = [m for m in mine if m.flags]
    if flagged:
        session.execute(
            insert(MealFlagRow),
            [
                {"event_id": m.id, "code": code, "detail": detail[:300]}
                for m in flagged
                for code, detail in m.details
            ],
        )
    notifier.meals_served(session, terminal.school_id, [m.id for m in mine if m.pupil_id is not None])
    mark_seen(session, terminal.terminal_id, received_at)
    accepted = len(stored) + len(stored_refusals)
    return IngestResult(accepted=accepted, duplicates=len(batch.events) - accepted, flagged=len(flagged))

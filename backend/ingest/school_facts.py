"""What ingestion needs of a school that only the school's own writes change, kept per process.

A batch is judged against the school's calendar, its vouchers (status, plan, validity, audit trail and
moves) and its count of active vouchers. Loading them costs eight queries, yet they change a few times a
day while terminals upload every few minutes. Each of those writes raises the school's change counter in
the writing transaction (the triggers of migration 0008, the same counter the allowlist's ETag is made
of), so one indexed read of the counter says whether what a process holds is still what the database
says: the same value → the same facts; otherwise they are loaded again. Facts are read after the
counter, so they are never older than the value they are kept under (a write committed in between only
makes the next batch load them once more).

Vouchers of other schools eating here (a moved pupil, a wrong card) are not in the school's facts and
are read per batch, as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend.calendar.model import SchoolCalendar
from backend.calendar.services import load_calendar
from backend.fleet.allowlist import change_counter
from backend.vouchers import queries as voucher_queries

from .model import StatusChange, VoucherFacts

# Schools held per process, least recently used dropped first: about 125 KB per 500-voucher school.
MAX_SCHOOLS = 1000


@dataclass(frozen=True, slots=True)
class SchoolFacts:
    school_id: int
    version: int  # the change counter these facts were read at
    calendar: SchoolCalendar
    vouchers: Mapping[int, VoucherFacts]  # the vouchers the school holds now
    active_vouchers: int


def voucher_facts(session: Session, voucher_ids: Sequence[int]) -> dict[int, VoucherFacts]:
    """These vouchers' facts (an unknown id is left out): three queries."""
    if not voucher_ids:
        return {}
    moves = voucher_queries.school_moves(session, voucher_ids)
    return {
        v.voucher_id: VoucherFacts(
            v.voucher_id,
            v.school_id,
            v.pupil_id,
            v.plan,
            v.status,
            v.valid_until,
            tuple(StatusChange(at, old, new) for at, old, new in v.trail),
            moves.get(v.voucher_id, ()),
        )
        for v in voucher_queries.voucher_states(session, voucher_ids).values()
    }


def load(session: Session, school_id: int, version: int) -> SchoolFacts:
    return SchoolFacts(
        school_id=school_id,
        version=version,
        calendar=load_calendar(session, school_id),
        vouchers=voucher_facts(session, voucher_queries.ids_at_school(session, school_id)),
        active_vouchers=voucher_queries.active_count(session, school_id),
    )


class SchoolFactsCache:
    """Per-process school facts, checked against the school's change counter on every use.
    Thread-safe: the API's request threads share one."""

    def __init__(self, max_schools: int = MAX_SCHOOLS) -> None:
        self._max = max_schools
        self._held: OrderedDict[int, SchoolFacts] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0  # how many times facts were read from the database (tests and benches look)

    def get(self, session: Session, school_id: int, version: int | None = None) -> SchoolFacts:
        """The school's facts at its change counter (`version`: already read in this transaction)."""
        if version is None:
            version = change_counter(session, school_id)
        with self._lock:
            held = self._held.get(school_id)
            if held is not None and held.version == version:
                self._held.move_to_end(school_id)
                return held
        facts = load(session, school_id, version)
        with self._lock:
            self.loads += 1
            self._held[school_id] = facts
            self._held.move_to_end(school_id)
            while len(self._held) > self._max:
                self._held.popitem(last=False)
        return facts

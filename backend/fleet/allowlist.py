"""Per-school allowlist bundles: built from vouchers, cards, calendar and revocations; signed on change.

A bundle's ETag names what it was built from: the school's change counter (`allowlist_versions`, raised
by triggers on every write the bundle depends on), the local day (the calendar window moves and
`valid_until` must not lapse) and the signer key. A conditional request reads that one row and answers
304 without building anything. Otherwise the stored bundle is served if its ETag is current; if not, the
content is rebuilt and, only if it differs (or the day changed), signed with the next sequence number.
"""

from __future__ import annotations

import gzip
import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.adapters.locking import for_update
from backend.calendar.model import SchoolCalendar, Tariff, tariff_in_force
from backend.calendar.services import load_calendar, load_tariffs
from backend.clock import local_date
from backend.fleet.tables import CardRegistration
from backend.keys import KeyStore
from backend.roster.tables import School
from backend.unit_of_work import UnitOfWork
from backend.vouchers import queries as vouchers
from backend.vouchers.model import VoucherStatus
from shared_crypto import Bundle, Calendar, Entry, EntryStatus, KeyRole, TariffChange, sign_bundle
from shared_crypto.allowlist import MAX_CARDS_PER_ENTRY

from .tables import AllowlistRow, AllowlistVersionRow

CALENDAR_DAYS = 14
VALIDITY = timedelta(hours=48)
ENTRY_STATUS = {
    VoucherStatus.ACTIVE: EntryStatus.ACTIVE,
    VoucherStatus.SUSPENDED: EntryStatus.SUSPENDED,
    VoucherStatus.REVOKED: EntryStatus.REVOKED,
}
MAX_SERIAL = 0xFFFF


@dataclass(frozen=True, slots=True)
class SignedAllowlist:
    school_id: int
    sequence: int
    content: bytes
    content_gzip: bytes
    etag: str


def etag_of(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


def bundle_etag(session: Session, keys: KeyStore, school_id: int, now: datetime) -> str:
    """The ETag of the bundle the school gets at `now`, from its change counter alone (one indexed read)."""
    return etag_for_version(keys, school_id, change_counter(session, school_id), now)


def change_counter(session: Session, school_id: int) -> int:
    """The school's change counter: raised by every write its bundle depends on (its vouchers, cards,
    week, slots, calendar days and its district's, tariffs), so a reader may keep whatever it derived
    from those rows while the counter stands."""
    version = session.scalar(
        select(AllowlistVersionRow.version).where(AllowlistVersionRow.school_id == school_id)
    )
    return int(version or 0)


def change_counter_of(school_id: ColumnElement[int]) -> ScalarSelect[int | None]:
    """`change_counter` as a correlated subquery (NULL where it was never raised, which reads as 0)."""
    return (
        select(AllowlistVersionRow.version)
        .where(AllowlistVersionRow.school_id == school_id)
        .scalar_subquery()
    )


def etag_for_version(keys: KeyStore, school_id: int, version: int, now: datetime) -> str:
    """The bundle's ETag from the school's change counter, already read (`bundle_etag` reads it)."""
    kid = keys.signing_key(KeyRole.ALLOWLIST_SIGNER).kid
    return etag_of(f"{school_id}:{version}:{local_date(now).isoformat()}:{kid.hex()}".encode())


def bundle_content(session: Session, school_id: int, now: datetime) -> Bundle:
    """The bundle as of `now`, with sequence and times zero (they are set when it is signed)."""
    today = local_date(now)
    rows = vouchers.school_holders(session, school_id, ENTRY_STATUS, today)
    listed = {r.pupil_id for r in rows}
    cards: dict[int, list[bytes]] = defaultdict(list)
    for pupil_id, uid_hash in session.execute(
        select(CardRegistration.pupil_id, CardRegistration.uid_hash)
        .where(
            CardRegistration.active.is_(True),
            CardRegistration.pupil_id.in_(vouchers.pupils_with_voucher_at(school_id)),
        )
        .order_by(CardRegistration.registered_at.desc(), CardRegistration.id.desc())
    ):
        mine = cards[pupil_id]
        if pupil_id in listed and uid_hash not in mine and len(mine) < MAX_CARDS_PER_ENTRY:
            mine.append(uid_hash)
    revoked = vouchers.revoked_serials(session, school_id, today, MAX_SERIAL)
    entries = tuple(
        Entry(
            voucher_id=r.voucher_id,
            pseudonym=r.pseudonym,
            card_uid_hashes=tuple(sorted(cards.get(r.pupil_id, ()))),
            plan=r.plan,
            status=ENTRY_STATUS[VoucherStatus(r.status)],
            min_serial=min(r.min_serial, MAX_SERIAL),
            display=r.display,
        )
        for r in rows
    )
    calendar = bundle_calendar(load_calendar(session, school_id), load_tariffs(session, [school_id]), today)
    return Bundle(school_id, 0, 0, 0, entries, calendar, frozenset((v, s) for v, s in revoked))


def bundle_calendar(cal: SchoolCalendar, tariffs: list[Tariff], first: date) -> Calendar:
    """The terminal's calendar for `CALENDAR_DAYS` days from `first`, with the tariff (full amount and the
    family's share, tiyn) of each plan and slot in force on `first` and every change after it inside the
    window."""

    def prices(day: date) -> dict[tuple[int, int], tuple[int, int]]:
        out = {}  # in (plan, slot) order, which the bundle's changes keep within a day
        for plan in sorted({t.plan for t in tariffs}):
            for slot in sorted(s.slot for s in cal.slots):
                t = tariff_in_force(tariffs, school_id=cal.school_id, plan=plan, slot=slot, day=day)
                if t is not None:
                    # 0 on the free plan, where the state pays the whole tariff (Tariff checks that)
                    out[(plan, slot)] = (t.amount_tiyn, t.family_share_tiyn)
        return out

    in_force = prices(first)
    opening: dict[int, dict[int, int]] = {}
    shares: dict[int, dict[int, int]] = {}
    for (plan, slot), (tiyn, family) in in_force.items():
        opening.setdefault(plan, {})[slot] = tiyn
        if family:
            shares.setdefault(plan, {})[slot] = family
    changes = []
    for i in range(1, CALENDAR_DAYS):
        day = first + timedelta(days=i)
        for (plan, slot), price in prices(day).items():
            if in_force.get((plan, slot)) != price:
                key = day.year * 10000 + day.month * 100 + day.day
                changes.append(TariffChange(key, plan, slot, *price))
                in_force[(plan, slot)] = price
    return replace(
        cal.to_bundle(first, CALENDAR_DAYS),
        tariffs=opening,
        tariff_changes=tuple(changes),
        family_shares=shares,
    )


def _fingerprint(keys: KeyStore, content: Bundle, now: datetime) -> bytes:
    # Ed25519 signatures are deterministic, so signing the zero-stamped content is a stable digest
    # that also changes when the signer key rotates; the local date makes a new bundle every day.
    probe = sign_bundle(keys.signing_key(KeyRole.ALLOWLIST_SIGNER), content)
    return hashlib.sha256(local_date(now).isoformat().encode() + probe).digest()


def current_allowlist(session: Session, keys: KeyStore, school_id: int, now: datetime) -> SignedAllowlist:
    """The school's signed bundle, re-signed with the next sequence number if its content changed.

    Commits nothing itself; the caller commits (a new bundle is stored in its transaction).
    """
    # The counter is read before the content, so the content is at least as new as the ETag says.
    etag = bundle_etag(session, keys, school_id, now)
    row = session.scalars(
        for_update(session, select(AllowlistRow).where(AllowlistRow.school_id == school_id))
    ).first()
    if row is not None and row.etag == etag:
        return SignedAllowlist(school_id, row.sequence, row.content, row.content_gzip, row.etag)
    content = bundle_content(session, school_id, now)
    fingerprint = _fingerprint(keys, content, now)
    if row is not None and row.fingerprint == fingerprint:
        row.etag = etag  # a write that left the bundle as it was: same bytes, same sequence
        session.flush()
        return SignedAllowlist(school_id, row.sequence, row.content, row.content_gzip, etag)
    sequence = 1 if row is None else row.sequence + 1
    stamp = int(now.timestamp())
    signed = sign_bundle(
        keys.signing_key(KeyRole.ALLOWLIST_SIGNER),
        Bundle(
            school_id,
            sequence,
            stamp,
            stamp + int(VALIDITY.total_seconds()),
            content.entries,
            content.calendar,
            content.revoked,
        ),
    )
    packed = gzip.compress(signed, compresslevel=6, mtime=0)
    if row is None:
        row = AllowlistRow(school_id=school_id)
        session.add(row)
    row.sequence, row.fingerprint, row.generated_at = sequence, fingerprint, now
    row.content, row.content_gzip, row.etag = signed, packed, etag
    session.flush()
    return SignedAllowlist(school_id, sequence, signed, packed, etag)


def serve_allowlist(uow: UnitOfWork, keys: KeyStore, school_id: int, now: datetime) -> SignedAllowlist:
    """`current_allowlist` in its own commit; a race to store a school's first bundle retries once."""
    try:
        result = current_allowlist(uow.session, keys, school_id, now)
        uow.commit()
    except IntegrityError:
        uow.rollback()
        result = current_allowlist(uow.session, keys, school_id, now)
        uow.commit()
    return result


ALLOWLIST_REFRESH = "allowlist_refresh"  # the worker's daily job: every school's bundle brought up to date


def refresh_handler(keys: KeyStore) -> Callable[[Session, dict[str, Any], datetime], str]:
    """A `backend.timers.store` handler for the daily job: every school's bundle (or the payload's
    "school_ids") brought up to date in the job's own transaction."""

    def handler(session: Session, payload: dict[str, Any], now: datetime) -> str:
        school_ids = payload.get("school_ids") or list(session.scalars(select(School.id).order_by(School.id)))
        for school_id in school_ids:
            current_allowlist(session, keys, int(school_id), now)
        return f"{len(school_ids)} allowlists current"

    return handler

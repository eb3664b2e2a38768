"""This process's map of the active terminals and of every school's allowlist change counter.

A conditional allowlist request holding the current ETag needs three facts: the active terminal a token's
key belongs to, its school, and that school's change counter. The map holds them, so such a request is
answered on the event loop with no thread-pool hop and no database read (backend/fleet/not_modified.py).

The map is only used while it is fresh: read less than `max_age` seconds ago (SM_ALLOWLIST_MAP_SECONDS,
1 s by default). Its age is counted from before its read began, so a terminal retired, a key replaced or a
school's bundle changed by a transaction committed at t is seen by every fast answer from t + max_age on
(that is the bound; until then a process may still answer the old ETag's 304 from the map). A request
finding the map older than half of `max_age` has it read again in the background; the read takes only the
rows changed since the last one (`change_seq`, migration 0013_map304) and, in the same snapshot, the count
of active terminals, which tells it when a row was deleted (then it reads them all again). A request
finding no fresh map, or no entry for its key, takes the database path as before.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, text

from backend.keys import KeyStore
from shared_crypto import KeyRole, Reason, VerificationError, VerifyKey, verify_device_auth

from .allowlist import etag_for_version
from .device_auth import LEEWAY, verify_key

log = logging.getLogger(__name__)

_HORIZON = {
    # The oldest transaction still running in this snapshot: every change by an older one is visible
    # to it, and a younger one's is read again next time (it may commit after this read).
    "postgresql": "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS h, NULL AS v",
    # Writers are serialised, so every marker up to the highest is committed.
    "sqlite": "SELECT (SELECT coalesce(max(change_seq), 0) + 1 FROM terminals) AS h, "
    "(SELECT coalesce(max(change_seq), 0) + 1 FROM allowlist_versions) AS v",
}
_TERMINALS = text("SELECT id, school_id, kid, public_key, status FROM terminals WHERE change_seq >= :h")
_VERSIONS = text("SELECT school_id, version FROM allowlist_versions WHERE change_seq >= :h")
_ACTIVE = text("SELECT count(*) FROM terminals WHERE status = 'active'")


@dataclass(frozen=True, slots=True)
class KnownTerminal:
    terminal_id: int
    school_id: int
    key: VerifyKey


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken: float  # the monotonic time before its read began
    terminals: Mapping[bytes, KnownTerminal]  # active terminals by key id
    versions: Mapping[int, int]  # school -> change counter; absent is 0
    horizons: tuple[int, int]  # where the next read of terminals and of counters starts


_NONE = Snapshot(float("-inf"), {}, {}, (0, 0))


class TerminalMap:
    """The map, replaced whole by each read (readers on the event loop see one snapshot or the next)."""

    def __init__(self, engine: Engine, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self.clock = clock
        self._engine = engine
        self._snapshot = _NONE
        self._reading = threading.Lock()

    def fresh(self) -> Snapshot | None:
        """The map if it is fresh; starts a background read when it is past half its age (or stale)."""
        if self.max_age <= 0:
            return None
        snap = self._snapshot
        age = self.clock() - snap.taken
        if age >= self.max_age / 2 and self._reading.acquire(blocking=False):
            asyncio.get_running_loop().run_in_executor(None, self._refresh_held)
        return snap if age < self.max_age else None

    @property
    def snapshot(self) -> Snapshot:
        """The map as last read, fresh or not."""
        return self._snapshot

    def refresh(self) -> None:
        """Read the changed rows into a new map now (after a read under way, if any)."""
        self._reading.acquire()
        self._refresh_held()

    def _refresh_held(self) -> None:
        try:
            self._snapshot = self._read(self._snapshot)
        except Exception:  # in a background thread: the map stays as it was and ages out, so requests
            log.warning("terminal map not refreshed", exc_info=True)  # take the database path
        finally:
            self._reading.release()

    def _read(self, old: Snapshot) -> Snapshot:
        taken = self.clock()
        conn = self._engine.connect()
        if conn.dialect.name == "postgresql":
            # one snapshot for the horizon, the changed rows and the count
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn, conn.begin():
            row = conn.execute(text(_HORIZON[conn.dialect.name])).one()
            horizons = (int(row.h), int(row.h if row.v is None else row.v))
            snap = _apply(conn, old, taken, horizons)
            if len(snap.terminals) != conn.execute(_ACTIVE).scalar_one():  # a row was deleted
                snap = _apply(conn, _NONE, taken, horizons)
        return snap


def _apply(conn: Connection, old: Snapshot, taken: float, horizons: tuple[int, int]) -> Snapshot:
    terminals = dict(old.terminals)
    for t in conn.execute(_TERMINALS, {"h": old.horizons[0]}):
        kid = bytes(t.kid)
        if t.status == "active":
            terminals[kid] = KnownTerminal(t.id, t.school_id, verify_key(bytes(t.public_key)))
        elif (known := terminals.get(kid)) is not None and known.terminal_id == t.id:
            del terminals[kid]
    versions = dict(old.versions)
    versions.update(conn.execute(_VERSIONS, {"h": old.horizons[1]}).all())
    return Snapshot(taken, terminals, versions, horizons)


class _MapKeys:
    """KeyLookup over a snapshot: only an active terminal's key verifies."""

    def __init__(self, snap: Snapshot) -> None:
        self._snap = snap
        self.found: KnownTerminal | None = None

    def lookup(self, kid: bytes, role: KeyRole, now: int | None, leeway: int) -> VerifyKey:
        found = self._snap.terminals.get(kid)
        if role is not KeyRole.DEVICE or found is None:
            raise VerificationError(Reason.UNKNOWN_KID, kid.hex())
        self.found = found
        return found.key


def mapped_etag(snap: Snapshot, keys: KeyStore, header: str, request_line: str, now: datetime) -> str | None:
    """The ETag of the requesting terminal's school's bundle by the map, if the token is valid by it
    (the checks of `device_auth.authenticate_for_allowlist`, on the map's rows); else None."""
    found = _MapKeys(snap)
    try:
        _, auth = verify_device_auth(
            header, found, request=request_line, now=int(now.timestamp()), leeway=LEEWAY
        )
    except VerificationError:
        return None
    t = found.found
    if t is None or auth.terminal_id != t.terminal_id:
        return None
    return etag_for_version(keys, t.school_id, snap.versions.get(t.school_id, 0), now)

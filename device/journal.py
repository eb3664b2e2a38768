"""The meal journal: every decision, served or refused, made durable before the indicator shows it.

SQLite in WAL mode with synchronous=FULL: a commit returns only after the WAL is fsynced, so a meal
shown green survives a power cut; WAL keeps the cost to one sequential append and one fsync. The
per-terminal `seq` is an AUTOINCREMENT key, so it keeps rising even after old records are pruned.
The one-meal-per-slot rule reads served meals from here, so it holds across reboots. A record is
the wire's `shared_crypto.MealEvent`, its columns named as its fields, so the uploader signs what it
reads; a file in an older schema is migrated on open (`PRAGMA user_version`, `MIGRATIONS`).

Checkpoints (copying the WAL back into the database file, two more fsyncs) are off the serving path:
`wal_autocheckpoint` is 0 on the serving connection and a `Checkpointer` thread runs PASSIVE
checkpoints on its own connection, after `checkpoint_every` commits or when serving has been idle.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shared_crypto import MealEvent, Method

log = logging.getLogger(__name__)
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     BLOB    NOT NULL UNIQUE CHECK (length(event_id) = 16),
    boot_id      BLOB    NOT NULL CHECK (length(boot_id) = 16),
    mono_ms      INTEGER NOT NULL,
    wall_ms      INTEGER NOT NULL,
    wall_trusted INTEGER NOT NULL CHECK (wall_trusted IN (0, 1)),
    method       INTEGER NOT NULL,
    voucher_id   INTEGER,
    token_serial INTEGER,
    slot         INTEGER,
    day          INTEGER,
    served       INTEGER NOT NULL CHECK (served IN (0, 1)),
    reason       TEXT    NOT NULL,
    uploaded     INTEGER NOT NULL DEFAULT 0 CHECK (uploaded IN (0, 1))
);
CREATE INDEX IF NOT EXISTS events_served ON events (voucher_id, day, slot) WHERE served = 1;
CREATE INDEX IF NOT EXISTS events_pending ON events (seq) WHERE uploaded = 0;
"""
SCHEMA_VERSION = 1  # PRAGMA user_version of a journal in this schema
# Steps from each older version, run in one transaction on open. 0 → 1: the meal's fields take their
# wire names (docs/formats.md §5, shared_crypto.MealEvent), the monotonic clock kept in ms as sent.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    0: (
        "ALTER TABLE events RENAME COLUMN voucher TO voucher_id",
        "ALTER TABLE events RENAME COLUMN serial TO token_serial",
        "ALTER TABLE events RENAME COLUMN mono_ns TO mono_ms",
        "UPDATE events SET mono_ms = mono_ms / 1000000",
    ),
}
_COLUMNS = (
    "seq, event_id, boot_id, mono_ms, wall_ms, wall_trusted, method, voucher_id, token_serial, slot, day,"
    " served, reason"
)
# Records the server refuses for good (out of its range): out of the queue, kept for the technician. Made
# on first use, so a journal that never needs it costs no page for it.
QUARANTINE = "CREATE TABLE IF NOT EXISTS quarantined (seq INTEGER PRIMARY KEY REFERENCES events (seq))"
SERVED = "SERVED"  # the reason column of a served meal; refusals hold their DeviceReason value


class JournalError(Exception):
    """The journal could not take or give a record; `full` tells a full disk from other faults."""

    def __init__(self, detail: str, *, full: bool) -> None:
        super().__init__(detail)
        self.full = full


def _is_full(e: BaseException) -> bool:
    if isinstance(e, sqlite3.Error):
        return getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "full" in str(e).lower()
    return isinstance(e, OSError) and e.errno == errno.ENOSPC


class Checkpointer:
    """Copies the WAL into the database file in its own thread and connection, so no serving commit
    pays for it. PASSIVE checkpoints never block a writer. They run after `every` commits, or once
    serving has been quiet for `idle_s`. After a complete checkpoint SQLite starts the WAL over at
    the next write, which costs that write an extra fsync (the new WAL header); when serving is
    quiet `restart` makes that write here instead (it gives up at once if a decision holds the
    journal), so the next meal pays one fsync only."""

    def __init__(
        self,
        path: Path,
        *,
        every: int,
        idle_s: float,
        restart: Callable[[], bool],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._path = path
        self._every = every
        self._idle_s = idle_s
        self._restart = restart
        self._now = monotonic
        self._wake = threading.Condition()
        self._commits = 0
        self._last_commit = 0.0
        self._stopped = False
        self.runs = 0  # checkpoints done (tests, bench)
        self.restarts = 0  # WAL restarts made here rather than in a serving commit
        self._thread = threading.Thread(target=self._run, name="checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def committed(self) -> None:
        """Called after each write transaction: counts it, no I/O."""
        with self._wake:
            self._commits += 1
            self._last_commit = self._now()
            if self._commits >= self._every:
                self._wake.notify()

    def _due(self) -> bool:
        if self._commits >= self._every:
            return True
        return self._commits > 0 and self._now() - self._last_commit >= self._idle_s

    def _run(self) -> None:
        db: sqlite3.Connection | None = None
        try:
            while True:
                with self._wake:
                    while not self._stopped and not self._due():
                        self._wake.wait(self._idle_s / 2)
                    if self._stopped:
                        return
                    self._commits = 0
                try:
                    if db is None:
                        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
                    busy, wal_frames, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.runs += 1
                except sqlite3.Error as e:  # the serving connection reports disk faults; try again later
                    log.warning("background checkpoint failed: %s", e)
                    continue
                with self._wake:
                    quiet = self._commits == 0
                if not busy and wal_frames == copied and quiet and self._restart():
                    self.restarts += 1
        finally:
            if db is not None:
                db.close()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(10.0)


class Journal:
    """Thread-safe (one connection behind a lock): the serving loop appends while the uploader reads
    and marks. Every method raises JournalError, never a bare sqlite3 or OS error.

    `checkpoint_every` commits (or `checkpoint_idle_s` of quiet) trigger a background checkpoint;
    `checkpoint_every=0` leaves checkpoints to SQLite on the committing thread (its default)."""

    def __init__(
        self,
        path: Path,
        *,
        max_page_count: int | None = None,
        checkpoint_every: int = 500,
        checkpoint_idle_s: float = 5.0,
    ) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.checkpointer: Checkpointer | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=5000")
            if checkpoint_every:
                self._db.execute("PRAGMA wal_autocheckpoint=0")
            if max_page_count is not None:  # tests: a tiny database stands in for a full disk
                self._db.execute(f"PRAGMA max_page_count={int(max_page_count)}")
            _migrate(self._db, path)
        except (sqlite3.Error, OSError) as e:
            raise JournalError(f"cannot open journal {path}: {e}", full=_is_full(e)) from e
        if checkpoint_every:
            self.checkpointer = Checkpointer(
                path, every=checkpoint_every, idle_s=checkpoint_idle_s, restart=self._restart_wal
            )
            self.checkpointer.start()

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        with self._lock:
            self._db.close()  # the last connection to close checkpoints the rest and removes the WAL

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
                if self.checkpointer is not None:
                    self.checkpointer.committed()
            except BaseException as e:
                # SQLite may already have rolled back (it does on SQLITE_FULL): only roll back what is open.
                if self._db.in_transaction:
                    try:
                        self._db.execute("ROLLBACK")
                    except sqlite3.Error:
                        log.exception("rollback failed")
                if isinstance(e, sqlite3.Error | OSError):
                    raise JournalError(str(e), full=_is_full(e)) from e
                raise

    def _restart_wal(self) -> bool:
        """A one-page write (the header's user_version, unused otherwise) so that SQLite starts the WAL
        over in this call; False, doing nothing, if a decision holds the journal."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            self._db.execute("BEGIN IMMEDIATE")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            self._db.execute(f"PRAGMA user_version={int(version)}")
            self._db.execute("COMMIT")
            return True
        except sqlite3.Error as e:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            log.warning("WAL restart write failed: %s", e)
            return False
        finally:
            self._lock.release()

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as e:
                raise JournalError(str(e), full=_is_full(e)) from e

    def append(self, r: MealEvent) -> int:
        """Commit the event (durable when this returns) and give its seq; `r.seq` is not read."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO events (event_id, boot_id, mono_ms, wall_ms, wall_trusted, method, voucher_id,"
                " token_serial, slot, day, served, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    r.event_id,
                    r.boot_id,
                    r.mono_ms,
                    r.wall_ms,
                    int(r.wall_trusted),
                    int(r.method),
                    r.voucher_id,
                    r.token_serial,
                    r.slot,
                    r.day,
                    int(r.served),
                    r.reason,
                ),
            )
            seq = cur.lastrowid
        assert seq is not None
        return seq

    def served_in_slot(self, voucher_id: int, day: int, slot: int) -> bool:
        rows = self._query(
            "SELECT 1 FROM events WHERE voucher_id = ? AND day = ? AND slot = ? AND served = 1 LIMIT 1",
            (voucher_id, day, slot),
        )
        return bool(rows)

    def served_counts(self, day: int) -> dict[int, int]:
        """Meals served on local day `day`, by slot (the kiosk's count at start-up and at midnight)."""
        rows = self._query(
            "SELECT slot, count(*) FROM events WHERE day = ? AND served = 1 GROUP BY slot", (day,)
        )
        return {int(slot): int(n) for slot, n in rows}

    def latest(self, n: int) -> list[MealEvent]:
        """The last `n` records, oldest first."""
        rows = self._query(
            f"SELECT {_COLUMNS} FROM events ORDER BY seq DESC LIMIT ?",  # noqa: S608
            (n,),
        )
        return [_record(row) for row in reversed(rows)]

    def pending(self, limit: int) -> list[MealEvent]:
        """The oldest records not yet uploaded, in seq order."""
        rows = self._query(
            f"SELECT {_COLUMNS} FROM events WHERE uploaded = 0 ORDER BY seq LIMIT ?",  # noqa: S608
            (limit,),
        )
        return [_record(row) for row in rows]

    def pending_count(self) -> int:
        return int(self._query("SELECT count(*) FROM events WHERE uploaded = 0")[0][0])

    def mark_uploaded(self, seqs: list[int]) -> None:
        with self._tx() as db:
            db.executemany("UPDATE events SET uploaded = 1 WHERE seq = ?", [(s,) for s in seqs])

    def quarantine(self, seqs: list[int]) -> None:
        """Set records aside that the server refuses for good: out of the queue (so they no longer block
        the records behind them), listed in `quarantined` and never pruned."""
        with self._tx() as db:
            db.execute(QUARANTINE)
            db.executemany("INSERT OR IGNORE INTO quarantined (seq) VALUES (?)", [(s,) for s in seqs])
            db.executemany("UPDATE events SET uploaded = 1 WHERE seq = ?", [(s,) for s in seqs])

    def prune(self, before_wall_ms: int) -> int:
        """Delete uploaded records older than the given wall time; never one still to upload."""
        with self._tx() as db:
            db.execute(QUARANTINE)
            n = db.execute(
                "DELETE FROM events WHERE uploaded = 1 AND wall_ms < ?"
                " AND seq NOT IN (SELECT seq FROM quarantined)",
                (before_wall_ms,),
            ).rowcount
        return n

    def records(self) -> list[MealEvent]:
        """Every record held, in seq order (tests, tools)."""
        return [_record(row) for row in self._query(f"SELECT {_COLUMNS} FROM events ORDER BY seq")]  # noqa: S608

    def integrity_ok(self) -> bool:
        rows = self._query("PRAGMA integrity_check")
        return rows == [("ok",)]


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the file to SCHEMA_VERSION in one transaction: a power cut leaves the old schema or the
    new, never half; records keep their seq and their uploaded mark."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"journal {path} has schema version {version}, newer than {SCHEMA_VERSION}"
        )
    db.execute("BEGIN IMMEDIATE")
    try:
        held = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").fetchone()
        if held:
            for step in range(version, SCHEMA_VERSION):
                for sql in MIGRATIONS[step]:
                    db.execute(sql)
        for sql in SCHEMA.split(";"):
            if sql.strip():
                db.execute(sql)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    if held:
        log.info("journal %s migrated from schema version %d to %d", path, version, SCHEMA_VERSION)


def _record(row: Any) -> MealEvent:
    seq, eid, boot, mono, wall, trusted, method, voucher_id, token_serial, slot, day, served, reason = row
    return MealEvent(
        event_id=bytes(eid),
        seq=int(seq),
        boot_id=bytes(boot),
        mono_ms=int(mono),
        wall_ms=int(wall),
        wall_trusted=bool(trusted),
        served=bool(served),
        reason=str(reason),
        method=Method(method),
        voucher_id=voucher_id,
        token_serial=token_serial,
        slot=slot,
        day=day,
    )

"""The meal journal: every decision, served or refused, made durable before the indicator shows it.

SQLite in WAL mode with synchronous=FULL: a commit returns only after the WAL is fsynced, so a meal
shown green survives a power cut; WAL keeps the cost to one sequential append and one fsync. The
per-terminal `seq` is an AUTOINCREMENT key, so it keeps rising even after old records are pruned.
The one-meal-per-slot rule reads served meals from here, so it holds across reboots.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared_crypto import MealEvent, Method

log = logging.getLogger(__name__)
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     BLOB    NOT NULL UNIQUE CHECK (length(event_id) = 16),
    boot_id      BLOB    NOT NULL CHECK (length(boot_id) = 16),
    mono_ns      INTEGER NOT NULL,
    wall_ms      INTEGER NOT NULL,
    wall_trusted INTEGER NOT NULL CHECK (wall_trusted IN (0, 1)),
    method       INTEGER NOT NULL,
    voucher      INTEGER,
    serial       INTEGER,
    slot         INTEGER,
    day          INTEGER,
    served       INTEGER NOT NULL CHECK (served IN (0, 1)),
    reason       TEXT    NOT NULL,
    uploaded     INTEGER NOT NULL DEFAULT 0 CHECK (uploaded IN (0, 1))
);
CREATE INDEX IF NOT EXISTS events_served ON events (voucher, day, slot) WHERE served = 1;
CREATE INDEX IF NOT EXISTS events_pending ON events (seq) WHERE uploaded = 0;
"""
# Records the server refuses for good (out of its range): out of the queue, kept for the technician. Made
# on first use, so a journal that never needs it costs no page for it.
QUARANTINE = "CREATE TABLE IF NOT EXISTS quarantined (seq INTEGER PRIMARY KEY REFERENCES events (seq))"
_COLUMNS = "seq, event_id, boot_id, mono_ns, wall_ms, wall_trusted, method, voucher, serial, slot, day, served, reason"
SERVED = "SERVED"  # the reason column of a served meal; refusals hold their DeviceReason value


class JournalError(Exception):
    """The journal could not take or give a record; `full` tells a full disk from other faults."""

    def __init__(self, detail: str, *, full: bool) -> None:
        super().__init__(detail)
        self.full = full


@dataclass(frozen=True, slots=True)
class Record:
    """One decision as journaled. `seq` is 0 until appended."""

    event_id: bytes
    boot_id: bytes
    mono_ns: int
    wall_ms: int
    wall_trusted: bool
    method: Method
    voucher: int | None
    serial: int | None
    slot: int | None
    day: int | None
    served: bool
    reason: str
    seq: int = 0

    def to_event(self) -> MealEvent:
        return MealEvent(
            event_id=self.event_id,
            seq=self.seq,
            boot_id=self.boot_id,
            mono_ms=self.mono_ns // 1_000_000,
            wall_ms=self.wall_ms,
            wall_trusted=self.wall_trusted,
            served=self.served,
            reason=self.reason,
            method=self.method,
            voucher_id=self.voucher,
            token_serial=self.serial,
            slot=self.slot,
            day=self.day,
        )


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
            self._db.executescript(SCHEMA)
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

    def append(self, r: Record) -> int:
        """Commit the record (durable when this returns) and give its seq."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO events (event_id, boot_id, mono_ns, wall_ms, wall_trusted, method, voucher,"
                " serial, slot, day, served, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    r.event_id,
                    r.boot_id,
                    r.mono_ns,
                    r.wall_ms,
                    int(r.wall_trusted),
                    int(r.method),
                    r.voucher,
                    r.serial,
                    r.slot,
                    r.day,
                    int(r.served),
                    r.reason,
                ),
            )
            seq = cur.lastrowid
        assert seq is not None
        return seq

    def served_in_slot(self, voucher: int, day: int, slot: int) -> bool:
        rows = self._query(
            "SELECT 1 FROM events WHERE voucher = ? AND day = ? AND slot = ? AND served = 1 LIMIT 1",
            (voucher, day, slot),
        )
        return bool(rows)

    def served_counts(self, day: int) -> dict[int, int]:
        """Meals served on local day `day`, by slot (the kiosk's count at start-up and at midnight)."""
        rows = self._query(
            "SELECT slot, count(*) FROM events WHERE day = ? AND served = 1 GROUP BY slot", (day,)
        )
        return {int(slot): int(n) for slot, n in rows}

    def latest(self, n: int) -> list[Record]:
        """The last `n` records, oldest first."""
        rows = self._query(
            f"SELECT {_COLUMNS} FROM events ORDER BY seq DESC LIMIT ?",  # noqa: S608
            (n,),
        )
        return [_record(row) for row in reversed(rows)]

    def pending(self, limit: int) -> list[Record]:
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

    def records(self) -> list[Record]:
        """Every record held, in seq order (tests, tools)."""
        return [_record(row) for row in self._query(f"SELECT {_COLUMNS} FROM events ORDER BY seq")]  # noqa: S608

    def integrity_ok(self) -> bool:
        rows = self._query("PRAGMA integrity_check")
        return rows == [("ok",)]


def _record(row: Any) -> Record:
    seq, eid, boot, mono, wall, trusted, method, voucher, serial, slot, day, served, reason = row
    return Record(
        event_id=bytes(eid),
        boot_id=bytes(boot),
        mono_ns=int(mono),
        wall_ms=int(wall),
        wall_trusted=bool(trusted),
        method=Method(method),
        voucher=voucher,
        serial=serial,
        slot=slot,
        day=day,
        served=bool(served),
        reason=str(reason),
        seq=int(seq),
    )

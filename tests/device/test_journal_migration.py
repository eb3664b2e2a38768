"""A journal written by the terminal's first schema (user_version 0: `voucher`, `serial`, `mono_ns`) is
migrated in place on open: nothing lost, seqs kept, unsent records still upload, one meal still one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from device import journal as journal_mod
from device.interfaces import DeviceReason
from device.journal import SCHEMA_VERSION, Journal, JournalError
from device.sim.backend import FakeBackend
from device.terminal import Terminal
from shared_crypto import Method

from .conftest import T0, Rig, default_bundle

OLD_SCHEMA = """
CREATE TABLE events (
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
CREATE INDEX events_served ON events (voucher, day, slot) WHERE served = 1;
CREATE INDEX events_pending ON events (seq) WHERE uploaded = 0;
"""
# (event_id, mono_ns, voucher, serial, slot, day, served, reason, uploaded), as the old terminal wrote them
OLD_ROWS = [
    (b"\x01" * 16, 3_600_123_456_789, 3, 1, 1, 20261123, 1, "SERVED", 1),
    (b"\x02" * 16, 3_700_987_654_321, 4, 2, 1, 20261123, 1, "SERVED", 0),
    (b"\x03" * 16, 3_800_000_999_999, None, None, None, None, 0, "BAD_SIGNATURE", 0),
]


def write_old_journal(path: Path, boot_id: bytes, wall_ms: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.executescript(OLD_SCHEMA)
    for eid, mono, voucher, serial, slot, day, served, reason, uploaded in OLD_ROWS:
        con.execute(
            "INSERT INTO events (event_id, boot_id, mono_ns, wall_ms, wall_trusted, method, voucher, serial,"
            " slot, day, served, reason, uploaded) VALUES (?,?,?,?,1,1,?,?,?,?,?,?,?)",
            (eid, boot_id, mono, wall_ms, voucher, serial, slot, day, served, reason, uploaded),
        )
    con.execute("DELETE FROM events WHERE seq = 3")  # AUTOINCREMENT: the next seq must still be 4
    con.execute(
        "INSERT INTO events (event_id, boot_id, mono_ns, wall_ms, wall_trusted, method, voucher, serial,"
        " slot, day, served, reason) VALUES (?,?,?,?,1,1,NULL,NULL,NULL,NULL,0,'BAD_SIGNATURE')",
        (OLD_ROWS[2][0], boot_id, OLD_ROWS[2][1], wall_ms),
    )
    con.execute("CREATE TABLE quarantined (seq INTEGER PRIMARY KEY REFERENCES events (seq))")
    con.execute("INSERT INTO quarantined (seq) VALUES (1)")  # set aside by the old software
    assert con.execute("PRAGMA user_version").fetchone() == (0,)
    con.close()


def columns(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return [row[1] for row in con.execute("PRAGMA table_info(events)")]
    finally:
        con.close()


def test_an_old_file_is_migrated_in_place_keeping_every_record(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    write_old_journal(path, b"b" * 16, 1_795_000_000_000)
    j = Journal(path, checkpoint_every=0)
    assert j._db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    got = j.records()
    assert [r.seq for r in got] == [1, 2, 4]
    assert [r.event_id for r in got] == [row[0] for row in OLD_ROWS]
    assert [r.mono_ms for r in got] == [3_600_123, 3_700_987, 3_800_000]  # ns → ms, as it went on the wire
    assert [(r.voucher_id, r.token_serial, r.slot, r.day) for r in got] == [
        (3, 1, 1, 20261123),
        (4, 2, 1, 20261123),
        (None, None, None, None),
    ]
    assert all(r.method is Method.QR and r.wall_trusted for r in got)
    assert [r.seq for r in j.pending(10)] == [2, 4]  # the uploaded mark survives
    assert j.served_in_slot(3, 20261123, 1) and j.served_in_slot(4, 20261123, 1)
    assert not j.served_in_slot(5, 20261123, 1)
    assert j.served_counts(20261123) == {1: 2}
    assert j.integrity_ok()
    assert j.prune(before_wall_ms=2**62) == 0  # seq 1 is uploaded but quarantined: kept
    plan = j._db.execute(
        "EXPLAIN QUERY PLAN SELECT 1 FROM events WHERE voucher_id = 4 AND day = 1 AND slot = 1 AND served = 1"
    ).fetchall()
    assert any("events_served" in str(step) for step in plan)  # the index followed the renamed column
    j.close()
    assert "voucher_id" in columns(path) and "voucher" not in columns(path) and "mono_ns" not in columns(path)
    again = Journal(path, checkpoint_every=0)  # opening a migrated file changes nothing
    assert again.records() == got
    again.close()


def test_a_failed_migration_leaves_the_old_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "journal.sqlite3"
    write_old_journal(path, b"b" * 16, 1_795_000_000_000)
    steps = (*journal_mod.MIGRATIONS[0], "UPDATE no_such_table SET x = 1")  # fails after the renames
    monkeypatch.setitem(journal_mod.MIGRATIONS, 0, steps)
    with pytest.raises(JournalError, match="no_such_table"):
        Journal(path, checkpoint_every=0)
    assert "mono_ns" in columns(path) and "voucher" in columns(path)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone() == (0,)
    assert con.execute("SELECT mono_ns FROM events ORDER BY seq").fetchall() == [
        (row[1],) for row in OLD_ROWS
    ]
    con.close()
    monkeypatch.undo()
    j = Journal(path, checkpoint_every=0)  # the next start migrates it
    assert len(j.records()) == 3
    j.close()


def test_a_journal_from_newer_software_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    Journal(path, checkpoint_every=0).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(JournalError, match="newer"):
        Journal(path, checkpoint_every=0)


def test_a_terminal_upgraded_over_an_old_journal_uploads_the_unsent_and_keeps_one_meal(rig: Rig) -> None:
    path = rig.terminal.journal.path
    boot = rig.clock.boot_id()
    rig.terminal.close()
    write_old_journal(path, boot, T0 * 1000)
    rig.terminal = Terminal.from_config(rig.terminal.cfg, clock=rig.clock, indicator=rig.indicator)
    again = rig.terminal.present_qr(rig.qr(4))
    assert again.reason is DeviceReason.ALREADY_SERVED  # served before the upgrade, in this slot
    assert again.seq == 5
    fb = FakeBackend(rig.keys, now=lambda: int(rig.clock.wall()))
    fb.set_bundle(default_bundle(sequence=2, n=30))
    report = rig.terminal.sync_once(fb.client())
    assert report.ok, report.errors
    assert report.upload is not None and report.upload.events == 3  # seq 2 and 4 from before, 5 after
    assert OLD_ROWS[0][0] not in fb.events  # uploaded before the upgrade: not sent again
    ev = fb.events[OLD_ROWS[1][0]]
    assert (ev.seq, ev.voucher_id, ev.token_serial, ev.mono_ms, ev.served) == (2, 4, 2, 3_700_987, True)  # type: ignore[attr-defined]
    assert rig.terminal.journal.pending_count() == 0

"""The journal: records, seq, one-meal lookup, upload marks, pruning, disk full."""

from __future__ import annotations

import dataclasses
import errno
import os
import sqlite3
from pathlib import Path

import pytest

from device.interfaces import DeviceReason, IndicatorState
from device.journal import Journal, JournalError, _is_full
from device.sim import scenario
from shared_crypto import MealEvent, Method

from .conftest import Rig


def rec(
    i: int, *, served: bool = True, voucher_id: int | None = 1, wall_ms: int = 1_000, slot: int = 1
) -> MealEvent:
    return MealEvent(
        event_id=os.urandom(16),
        seq=0,
        boot_id=b"b" * 16,
        mono_ms=i,
        wall_ms=wall_ms,
        wall_trusted=True,
        served=served,
        reason="SERVED" if served else "ALREADY_SERVED",
        method=Method.QR,
        voucher_id=voucher_id,
        token_serial=1,
        slot=slot,
        day=20261123,
    )


def test_pragmas_are_wal_and_full_sync(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.db")
    assert j._db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert j._db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


def test_append_gives_rising_seqs_and_round_trips(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.db")
    r = rec(5)
    seqs = [j.append(r), j.append(rec(6, served=False, voucher_id=None))]
    assert seqs == [1, 2]
    got = j.records()
    assert got[0] == dataclasses.replace(r, seq=1)  # the journal gives back the wire's event as it was put
    assert got[1].seq == 2 and got[1].voucher_id is None and not got[1].served
    assert got[0].mono_ms == 5 and got[0].reason == "SERVED" and got[0].method is Method.QR


def test_event_ids_are_unique(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.db")
    r = rec(1)
    j.append(r)
    with pytest.raises(JournalError) as e:
        j.append(r)
    assert not e.value.full
    assert len(j.records()) == 1


def test_served_lookup_ignores_refusals_and_other_slots(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.db")
    j.append(rec(1, served=False))
    assert not j.served_in_slot(1, 20261123, 1)
    j.append(rec(2, slot=2))
    assert j.served_in_slot(1, 20261123, 2) and not j.served_in_slot(1, 20261123, 1)
    assert not j.served_in_slot(1, 20261124, 2)


def test_upload_marks_and_pruning_keep_seq_rising(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.db")
    for i in range(5):
        j.append(rec(i, wall_ms=1_000 + i))
    assert [r.seq for r in j.pending(3)] == [1, 2, 3] and j.pending_count() == 5
    j.mark_uploaded([1, 2, 3])
    assert [r.seq for r in j.pending(10)] == [4, 5]
    assert j.prune(before_wall_ms=1_004) == 3  # uploaded and old: gone; 4 is old but not uploaded: kept
    assert [r.seq for r in j.records()] == [4, 5]
    j.mark_uploaded([4, 5])
    assert j.prune(before_wall_ms=10_000) == 2
    assert j.append(rec(9)) == 6  # AUTOINCREMENT: a pruned seq is never reused
    j.close()
    assert Journal(tmp_path / "j.db").append(rec(10)) == 7


def test_a_full_database_raises_full_and_keeps_what_it_had(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.db", max_page_count=12)
    n = 0
    with pytest.raises(JournalError) as e:
        for i in range(10_000):
            j.append(rec(i, voucher_id=i))
            n += 1
    assert e.value.full
    assert len(j.records()) == n and j.integrity_ok()


def test_enospc_from_the_os_is_full(tmp_path: Path) -> None:
    class FullDisk:
        """A connection whose every statement fails as a full disk would (sqlite3 reports SQLITE_FULL)."""

        in_transaction = False

        def execute(self, *a: object) -> None:
            err = sqlite3.OperationalError("database or disk is full")
            err.sqlite_errorcode = sqlite3.SQLITE_FULL
            raise err

    j = Journal(tmp_path / "j.db")
    j._db = FullDisk()  # type: ignore[assignment]
    with pytest.raises(JournalError) as e:
        j.append(rec(1))
    assert e.value.full
    assert _is_full(OSError(errno.ENOSPC, "No space left on device"))
    assert not _is_full(OSError(errno.EIO, "I/O error"))


def test_disk_full_refuses_with_storage_full_and_fault_and_recovers(rig: Rig, tmp_path: Path) -> None:
    full = Journal(tmp_path / "tiny.db", max_page_count=12)
    try:
        for i in range(10_000):
            full.append(rec(i, voucher_id=10_000 + i))
    except JournalError:
        pass
    healthy = rig.terminal.engine.journal
    rig.terminal.engine.journal = full
    v = rig.terminal.present_qr(rig.qr(4))
    assert not v.served and v.reason is DeviceReason.STORAGE_FULL and v.seq is None
    assert v.display == scenario.display(4)  # staff still see who it was
    assert rig.indicator.standing is IndicatorState.FAULT and "JOURNAL_FULL" in rig.terminal.faults()
    rig.clock.advance(1)
    again = rig.terminal.present_qr(rig.qr(4))  # not cached as a repeat: nothing was journaled
    assert again.reason is DeviceReason.STORAGE_FULL and not again.repeat
    rig.terminal.engine.journal = healthy  # space freed
    rig.clock.advance(1)
    assert rig.terminal.present_qr(rig.qr(4)).served
    assert rig.indicator.standing is not IndicatorState.FAULT


def test_bytes_per_record(tmp_path: Path) -> None:
    """What one realistic record costs on flash (figure for docs/device.md; bench measures 60,000)."""
    j = Journal(tmp_path / "j.db")
    for i in range(400):
        j.append(rec(i, voucher_id=100_000 + i, wall_ms=1_795_000_000_000 + i))
    j._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    per = (tmp_path / "j.db").stat().st_size / 400
    assert 40 < per < 200, per  # 30 days × 2,000 meals at < 200 B: < 12 MB

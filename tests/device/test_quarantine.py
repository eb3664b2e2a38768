"""A record the server refuses as out of range is quarantined, not retried ahead of the queue (issue 10)."""

from __future__ import annotations

import dataclasses
import os

from device.sim.backend import FakeBackend
from device.uploader import MAX_WALL_MS

from .conftest import Rig, default_bundle


def test_an_out_of_range_record_is_set_aside_and_the_rest_uploads(rig: Rig) -> None:
    for v in (2, 3):
        rig.terminal.present_qr(rig.qr(v))
    journal = rig.terminal.journal
    first = journal.records()[0]
    bad = dataclasses.replace(first, event_id=os.urandom(16), wall_ms=MAX_WALL_MS + 1, seq=0)
    bad_seq = journal.append(bad)
    rig.terminal.present_qr(rig.qr(4))
    fb = FakeBackend(rig.keys, now=lambda: int(rig.clock.wall()))
    fb.set_bundle(default_bundle(sequence=2, n=30))

    report = rig.terminal.sync_once(fb.client())

    assert report.ok, report.errors
    assert report.upload is not None and report.upload.quarantined == 1
    assert len(fb.events) == 3 and bad.event_id not in fb.events
    assert journal.pending_count() == 0
    journal.prune(before_wall_ms=2**62)
    assert [r.seq for r in journal.records()] == [bad_seq]  # kept for the technician, never pruned
    # a second sync sends nothing more
    assert rig.terminal.sync_once(fb.client()).upload.events == 0  # type: ignore[union-attr]

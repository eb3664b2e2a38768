"""Sync and upload against the in-process fake back end (httpx.MockTransport)."""

from __future__ import annotations

import random
import threading

import httpx
import pytest

from device.config import Rules
from device.interfaces import CardRead, DeviceReason
from device.sim.backend import FakeBackend
from device.uploader import Backoff

from .conftest import T0, MakeRig, Rig, default_bundle


def backend(rig: Rig, **kw: object) -> FakeBackend:
    fb = FakeBackend(rig.keys, now=lambda: int(rig.clock.wall()), **kw)  # type: ignore[arg-type]
    fb.set_bundle(default_bundle(sequence=2, n=30))
    return fb


def serve_some(rig: Rig, vouchers: range) -> None:
    for v in vouchers:
        rig.terminal.present_qr(rig.qr(v))


def test_a_first_sync_sets_time_installs_the_bundle_uploads_and_reports_health(make_rig: MakeRig) -> None:
    rig = make_rig(trusted=False)
    fb = backend(rig)
    assert rig.terminal.present_qr(rig.qr(4)).reason is DeviceReason.CLOCK_UNKNOWN
    report = rig.terminal.sync_once(fb.client())
    assert report.ok, report.errors
    assert rig.terminal.clock.read().trusted and report.clock_offset_s == 0
    assert report.allowlist_changed and rig.terminal.store.bundle.sequence == 2  # type: ignore[union-attr]
    assert report.trust_list_changed is False  # the same list provisioning left
    assert report.upload is not None and report.upload.events == 1 and len(fb.events) == 1
    assert fb.health[-1]["backlog"] == 0 and fb.health[-1]["software_version"] == "0.1.0"
    assert rig.terminal.present_qr(rig.qr(30)).served  # voucher 30 only exists in bundle #2


def test_conditional_requests_and_gzip(rig: Rig) -> None:
    fb = backend(rig)
    rig.terminal.sync_once(fb.client())
    fb.requests.clear()
    report = rig.terminal.sync_once(fb.client())
    assert report.ok and report.allowlist_changed is False and report.trust_list_changed is False
    gets = [r for r in fb.requests if r.method == "GET"]
    assert len(gets) == 2 and all(r.headers.get("If-None-Match") for r in gets)
    assert all("gzip" in r.headers["Accept-Encoding"] for r in gets)


@pytest.mark.parametrize(
    ("bundle_kw", "reason"),
    [({"sequence": 0}, "ROLLBACK"), ({"sequence": 9, "school_id": 4242}, "WRONG_SCHOOL")],
)
def test_an_older_or_foreign_bundle_is_kept_out(rig: Rig, bundle_kw: dict[str, int], reason: str) -> None:
    fb = backend(rig)
    fb.set_bundle(default_bundle(**bundle_kw))
    report = rig.terminal.sync_once(fb.client())
    assert reason in report.errors["allowlist"]
    assert rig.terminal.store.bundle.sequence == 1  # type: ignore[union-attr]
    assert "upload" not in report.errors  # one failed step does not stop the others


def test_a_replayed_time_answer_is_rejected(make_rig: MakeRig) -> None:
    rig = make_rig(trusted=False)
    fb = backend(rig, time_nonce_override=b"\x00" * 16)
    report = rig.terminal.sync_once(fb.client())
    assert "MALFORMED" in report.errors["time"]
    assert not rig.terminal.clock.read().usable


def test_a_lost_response_is_retried_without_double_counting(make_rig: MakeRig) -> None:
    sleeps: list[float] = []
    rig = make_rig(rules=Rules(retry_base_s=0.5, retry_cap_s=30))
    rig.terminal.sync.uploader._sleep = sleeps.append
    serve_some(rig, range(2, 12))
    fb = backend(rig, lose_batch_responses=2)
    report = rig.terminal.sync_once(fb.client())
    assert report.ok, report.errors
    assert report.upload is not None and report.upload.retries == 2
    assert fb.batches_received == 3 and fb.duplicates_answered == 20  # the server saw it 3 times...
    assert len(fb.events) == 10  # ...and holds each meal once
    assert report.upload.accepted == 0 and report.upload.duplicates == 10  # the answer that arrived
    assert rig.terminal.journal.pending_count() == 0
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


def test_records_stay_pending_until_a_200(make_rig: MakeRig) -> None:
    rig = make_rig(rules=Rules(retry_attempts=3))
    rig.terminal.sync.uploader._sleep = lambda _s: None
    serve_some(rig, range(2, 5))
    fb = backend(rig, fail_batches_with=[503, 500, 502])
    report = rig.terminal.sync_once(fb.client())
    assert "gave up after 3 attempts" in report.errors["upload"]
    assert rig.terminal.journal.pending_count() == 3 and not fb.events
    assert fb.health[-1]["backlog"] == 3
    report = rig.terminal.sync_once(fb.client())
    assert report.ok and len(fb.events) == 3 and rig.terminal.journal.pending_count() == 0


def test_a_refused_batch_is_not_retried(rig: Rig) -> None:
    serve_some(rig, range(2, 4))
    fb = backend(rig, fail_batches_with=[403])
    report = rig.terminal.sync_once(fb.client())
    assert "batch refused: HTTP 403" in report.errors["upload"]
    assert len([r for r in fb.requests if r.url.path.endswith("meal-batches")]) == 1
    assert rig.terminal.journal.pending_count() == 2


def test_batches_are_capped(make_rig: MakeRig) -> None:
    rig = make_rig(rules=Rules(upload_batch_size=4))
    serve_some(rig, range(2, 12))
    fb = backend(rig)
    report = rig.terminal.sync_once(fb.client())
    assert report.upload is not None and report.upload.batches == 3 and fb.batches_received == 3
    assert len(fb.events) == 10
    seqs = sorted(e.seq for e in fb.events.values())  # type: ignore[attr-defined]
    assert seqs == list(range(1, 11))


def test_a_skewed_clock_re_signs_with_the_servers_time(make_rig: MakeRig) -> None:
    rig = make_rig()
    rig.terminal.clock.set_trusted(T0 - 3600)  # an hour behind the server
    fb = FakeBackend(rig.keys, now=lambda: T0)
    fb.set_bundle(default_bundle(sequence=2))
    report = rig.terminal.sync_once(fb.client())
    assert report.ok, report.errors
    assert len([r for r in fb.requests if r.url.path.endswith("trust-list")]) == 2  # 401, then again
    assert rig.terminal.clock.read().unix_s == T0  # corrected by the signed time answer, not the 401


def test_prune_removes_only_old_uploaded_records(make_rig: MakeRig) -> None:
    rig = make_rig(rules=Rules(prune_after_days=1))
    serve_some(rig, range(2, 5))
    fb = backend(rig)
    assert rig.terminal.sync_once(fb.client()).pruned == 0
    rig.clock.advance(2 * 86_400)
    fb.set_bundle(default_bundle(sequence=3, valid_until=T0 + 10 * 86_400))
    report = rig.terminal.sync_once(fb.client())
    assert report.pruned == 3 and rig.terminal.journal.records() == []


def test_serving_never_waits_for_the_network(rig: Rig) -> None:
    entered, release = threading.Event(), threading.Event()

    def hang() -> None:
        entered.set()
        release.wait(30)

    fb = backend(rig, block=hang)
    rig.terminal.start_background_sync(fb.client)
    try:
        assert entered.wait(30)  # the sync thread is stuck inside a request
        v = rig.terminal.present_qr(rig.qr(4))
        assert v.served and rig.terminal.journal.pending_count() == 1
    finally:
        fb.block = None
        release.set()
        rig.terminal.close()


def test_backoff_is_exponential_with_full_jitter() -> None:
    b = Backoff(attempts=6, base_s=0.5, cap_s=4.0)
    rng = random.Random(1)
    for attempt in range(8):
        bound = min(4.0, 0.5 * 2**attempt)
        samples = [b.delay(attempt, rng) for _ in range(200)]
        assert all(0 <= s <= bound for s in samples)
        assert max(samples) > bound * 0.8  # the whole range is used, not a fixed delay


def test_served_records_upload_with_their_fields(rig: Rig) -> None:
    v = rig.terminal.present_qr(rig.qr(4))
    rig.terminal.present_card(CardRead(b"\x01\x02\x03\x04", None))
    fb = backend(rig)
    rig.terminal.sync_once(fb.client())
    assert v.event_id is not None
    ev = fb.events[v.event_id]
    assert ev.served and ev.voucher_id == 4 and ev.slot == 1 and ev.day == 20261123  # type: ignore[attr-defined]
    assert ev.wall_trusted and ev.boot_id == rig.clock.boot_id()  # type: ignore[attr-defined]
    refused = [e for e in fb.events.values() if not e.served]  # type: ignore[attr-defined]
    assert [e.reason for e in refused] == ["CARD_UNKNOWN"]  # type: ignore[attr-defined]


def test_a_401_without_a_usable_body_is_reported_not_retried(rig: Rig) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(401, json=["not", "a", "map"])

    client = httpx.Client(base_url="http://backend.test", transport=httpx.MockTransport(handler))
    report = rig.terminal.sync.sync_once(client)
    assert "401" in report.errors["trust-list"] and "health" in report.errors
    assert len([c for c in calls if c.url.path.endswith("trust-list")]) == 1

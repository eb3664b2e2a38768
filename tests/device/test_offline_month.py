"""A shortened month offline (bench/offline_month.py; `make soak` runs 30 days at 2,000 meals a day)."""

from __future__ import annotations

from pathlib import Path

from bench import offline_month


def test_default_policy_warns_early_serves_stale_then_refuses_and_uploads_everything_once(
    tmp_path: Path,
) -> None:
    r = offline_month.run(tmp_path, days=4, meals_per_day=40, policy=offline_month.DEFAULT)
    # Bundle valid 48 h from day 0's 07:00 sync, 12 h grace: days 0-2 served, day 3 refused.
    assert r.served_per_day == [40, 40, 40, 0]
    assert r.verdicts == {"SERVED": 120, "ALLOWLIST_EXPIRED": 40}
    seen = r.fault_first_seen_h
    assert seen["ALLOWLIST_EXPIRING"] < r.valid_until_h - 12  # on screen a whole service day before
    assert r.valid_until_h <= seen["ALLOWLIST_STALE"] < r.stale_until_h <= seen["ALLOWLIST_EXPIRED"]
    assert r.sync_attempts_offline > 0
    # RTC at -2 ppm for 4 days and a bit: about 0.7 s slow, well inside the 30 s token leeway.
    assert -0.8 < r.clock_error_s_before_resync < -0.6
    assert (
        r.clock_offset_s_reported is not None
        and abs(r.clock_offset_s_reported + r.clock_error_s_before_resync) < 1
    )
    # The network returns: every journaled record once at the back end, refusals included, though
    # one batch's answer was lost and the batch sent again.
    assert r.journal_records == r.presented == 160
    assert r.exactly_once and r.stored_at_backend == 160 and r.upload_retries == 1
    assert r.duplicates_answered > 0 and r.second_round_events == 0 and r.pending_after == 0
    assert r.faults_after_sync == []  # fresh bundle, trusted time: serving again


def test_a_policy_for_a_month_offline_serves_every_day(tmp_path: Path) -> None:
    r = offline_month.run(tmp_path, days=3, meals_per_day=30, ppm=2.0, policy=offline_month.MONTH_OFFLINE)
    assert r.served_per_day == [30, 30, 30] and r.verdicts == {"SERVED": 90}
    assert "ALLOWLIST_EXPIRED" not in r.fault_first_seen_h and "ALLOWLIST_STALE" in r.fault_first_seen_h
    assert 0.4 < r.clock_error_s_before_resync < 0.6
    assert r.exactly_once and r.upload_events >= 90

"""`make demo` end to end: the whole canteen day runs and its figures are the expected ones."""

from __future__ import annotations

from pathlib import Path

from demo.story import run

# Free breakfast 450.00 ₸ and lunch 800.50 ₸ for three children; the fourth on the discounted plan
# (state 270.00 + 480.30, family 180.00 + 320.20); one breakfast and one lunch each.
AMOUNT = 3 * (45_000 + 80_050) + (45_000 + 80_050)
STATE = 3 * (45_000 + 80_050) + (27_000 + 48_030)


def test_demo_day(tmp_path: Path) -> None:
    lines: list[str] = []
    r = run(tmp_path / "demo", out=lines.append)
    assert r.problems == []
    # consent: one SMS for the mother of three, one for the declining father; the parent with no phone
    assert r.consent_requests == 2 and len(r.consent_sms_to) == 2
    assert r.consent_issues == {"NO_PHONE": 1}
    assert r.reply_outcomes == {"akhmetova": "agreed", "petrov": "declined"}
    assert r.vouchers_active == 4
    # the canteen day
    assert r.served == 8 and r.served_offline == 4
    assert r.repeats == 1 and r.camera_decoded == 2
    assert r.refused == {"ALREADY_SERVED": 2, "MALFORMED": 1}
    assert r.offline_upload_failed
    assert r.duplicates == 5  # the batch re-sent after its answer was lost
    assert r.flagged == 0 and r.notices == 8 and r.rating_stars == 5
    assert r.history_meals == 2  # Нұрлан's breakfast and lunch in his voucher history
    # reports and billing
    assert r.daily_meals == 8 and r.daily_activations == 4
    assert r.timesheet_total == r.act_meals == 8
    assert (r.act_amount_tiyn, r.act_state_tiyn, r.act_parent_tiyn) == (AMOUNT, STATE, AMOUNT - STATE)
    assert (r.act_status, r.act_version, r.act_signed) == ("available", 1, True)
    assert r.reconciled
    names = {p.name for p in r.files}
    for kind in ("timesheet", "act"):
        for ext in ("csv", "xlsx", "pdf"):
            assert f"{kind}-2026-09.{ext}" in names
    assert {"aruzhan.png", "nurlan.png", "daily-2026-09-15.json", "daily-2026-09-15.csv"} <= names
    assert all(p.exists() and p.stat().st_size > 0 for p in r.files)
    assert any("Summary" in line for line in lines)

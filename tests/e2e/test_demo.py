"""`make demo` end to end: the whole canteen day runs and its figures are the expected ones."""

from __future__ import annotations

import pytest

from demo.story import DemoResult, run

# Free breakfast 450.00 ₸ and lunch 800.50 ₸ for three children; the fourth on the discounted plan
# (state 270.00 + 480.30, family 180.00 + 320.20); one breakfast and one lunch each.
AMOUNT = 3 * (45_000 + 80_050) + (45_000 + 80_050)
STATE = 3 * (45_000 + 80_050) + (27_000 + 48_030)


@pytest.fixture(scope="module")
def told(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, list[str]]:
    """One run of the whole demo for both tests (it takes most of a minute)."""
    lines: list[str] = []
    return run(tmp_path_factory.mktemp("demo") / "demo", out=lines.append), lines


def test_demo_day(told: tuple[DemoResult, list[str]]) -> None:
    r, lines = told
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


def test_demo_school_year(told: tuple[DemoResult, list[str]]) -> None:
    """The shortened school year after the canteen day: its figures, told from its own database."""
    r, lines = told
    assert r.problems == [] and r.year is not None
    y = r.year
    full, state, family = 80_050, 48_030, 32_020  # lunch; the discounted plan's split
    # (lunches, state, families) per month: Madina (discounted) from October's second day, Aigerim at school
    # 47 from November, Daniyar suspended in December and January, the late batch in September
    free = {"2026-09": 11, "2026-10": 10, "2026-11": 10, "2026-12": 8, "2027-01": 8}
    discounted = {"2026-09": 0, "2026-10": 1}
    months = [
        "2026-09",
        "2026-10",
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
        "2027-03",
        "2027-04",
        "2027-05",
    ]
    assert y.months == {
        m: (
            free.get(m, 10) + discounted.get(m, 2),
            free.get(m, 10) * full + discounted.get(m, 2) * state,
            discounted.get(m, 2) * family,
        )
        for m in months
    }
    assert y.register_lines == [("050540000012", 2, 7, 7 * full, 0), ("050540000047", 1, 4, 4 * full, 0)]
    assert [(p.suffix, p.stat().st_size > 0) for p in y.register_files][:2] == [
        (".json", True),
        (".csv", True),
    ]
    assert y.states["2026-12"]["daniyar"] == "sus 12" and y.states["2027-02"]["daniyar"] == "act 12"
    assert y.states["2026-10"]["aigerim"] == "act 12" and y.states["2026-11"]["aigerim"] == "act 47"
    assert {m: s["timur"] for m, s in y.states.items()} == dict.fromkeys(months, "—")  # his father declined
    assert y.sms == {"gulnara": 3, "saule": 3, "sergey": 3, "zhanar": 3, "aliya": 3, "bolat": 0}
    assert y.flagged == 0 and y.summer_allowlisted == 0
    assert (y.next_year_requests, y.next_year_vouchers) == (5, 1)
    assert y.reports_delivered == 20 and y.appeal_status == "forwarded"
    assert any("school year:" in line for line in lines)

"""Each decision rule and reason code, through the Terminal (engine + journal + store + indicator)."""

from __future__ import annotations

import datetime as dt

import pytest

from device.config import Rules
from device.engine import local_day_minute, meal_slot
from device.interfaces import CardRead, Decision, DeviceReason, IndicatorState
from device.sim import scenario
from shared_crypto import Entry, EntryStatus, Reason, SigningKey, VoucherToken, issue_qr_text, uid_hash

from .conftest import DAY1, DAY2, T0, MakeRig, Rig, default_bundle


def test_a_valid_token_is_served_with_the_pupils_display_and_journaled(rig: Rig) -> None:
    v = rig.terminal.present_qr(rig.qr(4))
    assert v.decision is Decision.SERVE and v.reason is None
    assert v.display == scenario.display(4) and v.plan == scenario.FREE and v.voucher_id == 4
    assert (v.day, v.slot) == (20261123, scenario.BREAKFAST.slot_id)
    [rec] = rig.terminal.journal.records()
    assert rec.seq == v.seq and rec.event_id == v.event_id and rec.served and rec.reason == "SERVED"
    assert (
        rec.wall_trusted
        and rec.boot_id == rig.clock.boot_id()
        and rec.mono_ms == rig.clock.monotonic_ns() // 1_000_000
    )
    assert rig.indicator.history[-1] is IndicatorState.SERVED


def test_every_shared_reason_has_a_device_reason() -> None:
    assert {r.value for r in Reason} <= {r.value for r in DeviceReason}
    assert DeviceReason.of(Reason.REVOKED) is DeviceReason.REVOKED


def refused(rig: Rig, text: str) -> DeviceReason | None:
    v = rig.terminal.present_qr(text)
    assert v.decision is Decision.REFUSE
    assert rig.indicator.history[-1] is IndicatorState.REFUSED
    rec = rig.terminal.journal.records()[-1]  # refusals are journaled too
    assert rec.seq == v.seq and not rec.served and rec.reason == (v.reason.value if v.reason else None)
    return v.reason


def test_garbage_and_foreign_signatures_are_refused(rig: Rig) -> None:
    assert refused(rig, "hello") is DeviceReason.MALFORMED
    assert refused(rig, "SW1:%%%") is DeviceReason.MALFORMED
    forged = issue_qr_text(SigningKey.generate(), VoucherToken(4, scenario.SCHOOL_ID, 1, 0, T0 - 60, T0 + 60))
    assert refused(rig, forged) is DeviceReason.UNKNOWN_KID
    good = rig.qr(4)
    tampered = good[:-3] + ("000" if not good.endswith("000") else "111")
    assert refused(rig, tampered) in {DeviceReason.BAD_SIGNATURE, DeviceReason.MALFORMED}


def test_token_window_uses_the_configured_leeway(make_rig: MakeRig) -> None:
    rig = make_rig(rules=Rules(token_leeway_s=30))
    issuer = rig.keys.issuer
    early = issue_qr_text(issuer, VoucherToken(4, scenario.SCHOOL_ID, 1, 0, T0 + 31, T0 + 600))
    assert refused(rig, early) is DeviceReason.NOT_YET_VALID
    just_early = issue_qr_text(issuer, VoucherToken(6, scenario.SCHOOL_ID, 1, 0, T0 + 29, T0 + 600))
    assert rig.terminal.present_qr(just_early).served
    old = issue_qr_text(issuer, VoucherToken(8, scenario.SCHOOL_ID, 1, 0, T0 - 600, T0 - 30))
    assert refused(rig, old) is DeviceReason.EXPIRED
    just_old = issue_qr_text(issuer, VoucherToken(10, scenario.SCHOOL_ID, 1, 0, T0 - 600, T0 - 29))
    assert rig.terminal.present_qr(just_old).served


def test_wrong_school_and_unlisted_and_inactive_vouchers(make_rig: MakeRig) -> None:
    entries = (*scenario.entries(4), Entry(50, scenario.pseudonym(50), (), 1, EntryStatus.SUSPENDED, 1, "S"))
    rig = make_rig(default_bundle(entry_list=entries))
    assert refused(rig, rig.qr(4, school_id=999)) is DeviceReason.WRONG_SCHOOL
    assert refused(rig, rig.qr(77)) is DeviceReason.NOT_IN_ALLOWLIST
    assert rig.terminal.journal.records()[-1].voucher_id == 77  # a verified token names its voucher
    assert refused(rig, rig.qr(50)) is DeviceReason.VOUCHER_NOT_ACTIVE


def test_serial_below_minimum_is_superseded_and_revoked_ids_refused(make_rig: MakeRig) -> None:
    entries = (Entry(4, scenario.pseudonym(4), (), 0, EntryStatus.ACTIVE, 3, "P"),)
    rig = make_rig(default_bundle(entry_list=entries, revoked=frozenset({(4, 4)})))
    assert refused(rig, rig.qr(4, serial=2)) is DeviceReason.SUPERSEDED
    assert refused(rig, rig.qr(4, serial=4)) is DeviceReason.REVOKED
    v = rig.terminal.present_qr(rig.qr(4, serial=5))
    assert v.served


def test_one_meal_per_voucher_per_slot_per_day(rig: Rig) -> None:
    assert rig.terminal.present_qr(rig.qr(4)).served
    rig.clock.advance(60)  # past the repeat window: a second attempt, not a re-show
    assert refused(rig, rig.qr(4, serial=2)) is DeviceReason.ALREADY_SERVED
    rig.clock.advance(4 * 3600)  # 13:01, lunch
    v = rig.terminal.present_qr(rig.qr(4))
    assert v.served and v.slot == scenario.LUNCH.slot_id
    rig.clock.advance(20 * 3600)  # next day, 09:01
    assert rig.terminal.present_qr(rig.qr(4)).served


def test_the_one_meal_rule_survives_a_restart_and_a_reboot(rig: Rig) -> None:
    assert rig.terminal.present_qr(rig.qr(4)).served
    rig.clock.advance(60)
    rig.reopen()
    assert refused(rig, rig.qr(4)) is DeviceReason.ALREADY_SERVED
    rig.clock.reboot()
    rig.reopen()
    rig.terminal.clock.set_trusted(T0 + 120)
    assert refused(rig, rig.qr(4)) is DeviceReason.ALREADY_SERVED


def test_the_same_qr_within_the_window_is_the_same_event(make_rig: MakeRig) -> None:
    rig = make_rig(rules=Rules(repeat_window_s=5))
    text = rig.qr(4)
    first = rig.terminal.present_qr(text)
    rig.clock.advance(4)
    again = rig.terminal.present_qr(text)
    assert first.served and again.served and again.repeat and again.event_id == first.event_id
    assert len(rig.terminal.journal.records()) == 1
    assert rig.indicator.history[-1] is IndicatorState.SERVED  # shown green again, not refused
    rig.clock.advance(2)  # 6 s after the first show: a new attempt
    assert refused(rig, text) is DeviceReason.ALREADY_SERVED
    assert len(rig.terminal.journal.records()) == 2


def test_a_repeated_refusal_is_not_journaled_twice(rig: Rig) -> None:
    rig.terminal.present_qr("junk")
    again = rig.terminal.present_qr("junk")
    assert again.repeat and again.reason is DeviceReason.MALFORMED
    assert len(rig.terminal.journal.records()) == 1


def test_holidays_and_hours_outside_the_slots(make_rig: MakeRig) -> None:
    rig = make_rig(default_bundle(days=(DAY2,)))
    assert refused(rig, rig.qr(4)) is DeviceReason.SCHOOL_HOLIDAY
    rig.clock.advance(86_400 + 3 * 3600)  # DAY2 at 12:00: a school day, lunch
    assert rig.terminal.present_qr(rig.qr(4)).served
    rig.clock.advance(3 * 3600)  # 15:00, after lunch
    assert refused(rig, rig.qr(6)) is DeviceReason.NO_MEAL_SLOT_NOW


def test_a_day_may_serve_only_some_slots(make_rig: MakeRig) -> None:
    cal = scenario.school_calendar((DAY1,))
    cal = type(cal)(cal.utc_offset_minutes, cal.slots, {20261123: (scenario.LUNCH.slot_id,)})
    rig = make_rig(default_bundle(cal=cal))
    assert refused(rig, rig.qr(4)) is DeviceReason.NO_MEAL_SLOT_NOW  # 09:00, breakfast not served today


def test_local_day_is_the_calendars_offset_not_utc() -> None:
    # 2026-11-23 23:30 UTC is already 24 Nov 04:30 in UTC+5
    t = scenario.unix_local(2026, 11, 23, 23, 30, offset_min=0)
    assert local_day_minute(t, 300) == (20261124, 4 * 60 + 30)
    assert local_day_minute(t, 0) == (20261123, 23 * 60 + 30)
    for d in (dt.date(2024, 2, 29), dt.date(2000, 1, 1), dt.date(2099, 12, 31)):
        assert local_day_minute(scenario.unix_local(d.year, d.month, d.day, 0, 0), 300) == (
            scenario.yyyymmdd(d),
            0,
        )
    cal = scenario.school_calendar((DAY1,))
    assert meal_slot(cal, scenario.unix_local(2026, 11, 23, 10, 0))[2] is DeviceReason.NO_MEAL_SLOT_NOW
    assert meal_slot(cal, scenario.unix_local(2026, 11, 23, 9, 59))[1] == 1


def test_clock_unknown_refuses(make_rig: MakeRig) -> None:
    rig = make_rig(trusted=False)
    assert refused(rig, rig.qr(4)) is DeviceReason.CLOCK_UNKNOWN
    assert rig.terminal.standing() is IndicatorState.WARNING
    rec = rig.terminal.journal.records()[-1]
    assert not rec.wall_trusted


def test_stale_allowlist_serves_with_warning_then_refuses(make_rig: MakeRig) -> None:
    rules = Rules(stale_grace_hours=2, allowlist_warning_hours=0)
    rig = make_rig(default_bundle(valid_until=T0 + 60), rules=rules)
    assert rig.terminal.present_qr(rig.qr(4)).served
    assert rig.terminal.standing() is IndicatorState.IDLE
    rig.clock.advance(120)  # past valid_until, inside the grace
    assert rig.terminal.present_qr(rig.qr(6)).served
    assert rig.indicator.standing is IndicatorState.WARNING
    assert "ALLOWLIST_STALE" in rig.terminal.faults()
    rig.clock.advance(2 * 3600)  # grace over
    assert refused(rig, rig.qr(8)) is DeviceReason.ALLOWLIST_EXPIRED
    assert rig.indicator.standing is IndicatorState.FAULT


def test_an_allowlist_near_its_end_warns_early_and_still_serves(make_rig: MakeRig) -> None:
    rig = make_rig(default_bundle(valid_until=T0 + 9 * 3600 + 1800), rules=Rules(allowlist_warning_hours=6))
    assert rig.terminal.faults() == [] and rig.terminal.standing() is IndicatorState.IDLE
    rig.clock.advance(3 * 3600 + 1800 + 1)  # 12:30 at lunch, 6 h less a second before valid_until
    assert rig.terminal.present_qr(rig.qr(4)).served
    assert rig.terminal.faults() == ["ALLOWLIST_EXPIRING"]
    assert rig.indicator.standing is IndicatorState.WARNING
    rig.clock.advance(6 * 3600)  # past valid_until: stale, no longer "expiring"
    assert rig.terminal.faults() == ["ALLOWLIST_STALE"]


def test_no_allowlist_refuses(make_rig: MakeRig) -> None:
    rig = make_rig()
    (rig.data_dir / "allowlist.cose").unlink()
    rig.reopen()
    assert refused(rig, rig.qr(4)) is DeviceReason.NO_ALLOWLIST
    assert rig.terminal.standing() is IndicatorState.FAULT


# --- cards ----------------------------------------------------------------------------------------------


def test_a_registered_card_uid_is_served(rig: Rig) -> None:
    v = rig.terminal.present_card(CardRead(scenario.card_uid(4), None))
    assert v.served and v.voucher_id == 4 and v.display == scenario.display(4)
    assert rig.terminal.journal.records()[-1].method == 2


def test_an_unknown_card_is_refused(rig: Rig) -> None:
    v = rig.terminal.present_card(CardRead(b"\x01\x02\x03\x04", None))
    assert v.reason is DeviceReason.CARD_UNKNOWN


def test_a_card_credential_for_this_uid_is_served(rig: Rig) -> None:
    uid = scenario.card_uid(5)  # odd voucher: not registered by hash, carries a credential
    v = rig.terminal.present_card(CardRead(uid, scenario.card_credential(rig.keys, 5, T0)))
    assert v.served and v.voucher_id == 5


def test_a_credential_copied_to_another_card_is_refused(rig: Rig) -> None:
    cred = scenario.card_credential(rig.keys, 5, T0)
    v = rig.terminal.present_card(CardRead(b"\x04\x99\x99\x99\x99\x99\x99", cred))
    assert v.reason is DeviceReason.CARD_MISMATCH


def test_a_forged_or_unlisted_credential_is_refused(rig: Rig) -> None:
    uid = scenario.card_uid(5)
    forged = scenario.card_credential(scenario.Keys(), 5, T0)
    assert rig.terminal.present_card(CardRead(uid, forged)).reason is DeviceReason.UNKNOWN_KID
    rig.clock.advance(60)
    unlisted = scenario.card_credential(rig.keys, 99, T0, uid=uid)
    assert rig.terminal.present_card(CardRead(uid, unlisted)).reason is DeviceReason.NOT_IN_ALLOWLIST
    assert rig.terminal.present_card(CardRead(uid, b"\xa0")).reason is DeviceReason.MALFORMED


def test_card_and_qr_share_the_one_meal_rule(rig: Rig) -> None:
    assert rig.terminal.present_qr(rig.qr(4)).served
    v = rig.terminal.present_card(CardRead(scenario.card_uid(4), None))
    assert v.reason is DeviceReason.ALREADY_SERVED


@pytest.mark.parametrize("status", [EntryStatus.SUSPENDED, EntryStatus.REVOKED])
def test_a_card_of_an_inactive_voucher_is_refused(make_rig: MakeRig, status: EntryStatus) -> None:
    uid = scenario.card_uid(4)
    entries = (Entry(4, scenario.pseudonym(4), (uid_hash(uid),), 0, status, 1, "P"),)
    rig = make_rig(default_bundle(entry_list=entries))
    assert rig.terminal.present_card(CardRead(uid, None)).reason is DeviceReason.VOUCHER_NOT_ACTIVE

"""Short-window tokens from the pupil's pass: each valid in one window of a slot (the back end cuts
slots into `pass_window_seconds`, 300 s), served by the terminal within `token_leeway_s` of its edges."""

from __future__ import annotations

import pytest

from device.config import Rules
from device.interfaces import DeviceReason
from device.sim import scenario
from shared_crypto import VoucherToken, issue_qr_text

from .conftest import DAY1, MakeRig

WINDOW_S = 300  # backend/web_settings.py pass_window_seconds
BREAKFAST_START = scenario.unix_local(DAY1.year, DAY1.month, DAY1.day, 8, 0)
NBF = BREAKFAST_START + 2 * WINDOW_S  # the third window of breakfast: 08:10-08:15
EXP = NBF + WINDOW_S
LEEWAY = Rules().token_leeway_s


def window_token(rig_keys: scenario.Keys, voucher: int, nbf: int = NBF, exp: int = EXP) -> str:
    return issue_qr_text(
        rig_keys.issuer, VoucherToken(voucher, scenario.SCHOOL_ID, 1, scenario.plan(voucher), nbf, exp)
    )


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        (NBF - LEEWAY - 1, DeviceReason.NOT_YET_VALID),  # a phone 31 s ahead of the terminal's clock
        (NBF - LEEWAY, None),  # the earliest the window's token is served
        (NBF, None),
        (EXP - 1, None),
        (EXP + LEEWAY - 1, None),  # the latest: the pupil reached the counter as the window turned
        (EXP + LEEWAY, DeviceReason.EXPIRED),
    ],
)
def test_a_window_token_is_served_within_the_leeway_of_its_edges(
    make_rig: MakeRig, now: int, reason: DeviceReason | None
) -> None:
    rig = make_rig(now=now)
    verdict = rig.terminal.present_qr(window_token(rig.keys, 5))
    assert verdict.reason is reason
    assert verdict.served is (reason is None)


def test_tokens_of_neighbouring_windows_still_give_one_meal_a_slot(make_rig: MakeRig) -> None:
    """Near a window's turn the tokens of both windows are served (their leeways overlap by 2 x 30 s),
    so the one-meal rule, not the window, is what stops a second meal."""
    rig = make_rig(now=EXP + 10)
    assert rig.terminal.present_qr(window_token(rig.keys, 6)).served  # the old window, 10 s late
    rig.clock.advance(15)
    later = rig.terminal.present_qr(window_token(rig.keys, 6, EXP, EXP + WINDOW_S))  # the new one
    assert later.reason is DeviceReason.ALREADY_SERVED


def test_the_leeway_is_the_configured_one(make_rig: MakeRig) -> None:
    rig = make_rig(now=EXP + 60, rules=Rules(token_leeway_s=90))
    assert rig.terminal.present_qr(window_token(rig.keys, 7)).served

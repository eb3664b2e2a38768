"""The staff's screen's state (device.kiosk.board): what a decision, a new day and a status change do to
it, and that a waiting reader wakes on each change (the screen follows the journal)."""

from __future__ import annotations

import threading

from device.kiosk.board import RECENT, Board, Shown, Status, priced
from shared_crypto import Calendar, MealSlot, TariffChange

DAY = 20261123


def shown(
    seq: int | None, *, served: bool = True, slot: int = 1, repeat: bool = False, day: int = DAY
) -> Shown:
    return Shown(
        seq=seq,
        at_ms=1_000 * (seq or 0),
        method="qr",
        served=served,
        reason=None if served else "ALREADY_SERVED",
        display="А.С. 3Б",
        plan=2,
        price_tiyn=45_000 if served else None,
        family_tiyn=15_000 if served else None,
        slot=slot,
        day=day,
        repeat=repeat,
    )


def test_the_last_ten_decisions_newest_first_and_served_meals_counted_per_slot() -> None:
    board = Board()
    board.new_day(DAY, {})
    for seq in range(1, 14):
        board.decided(shown(seq, slot=1 if seq % 2 else 2, served=seq != 5))
    snap = board.snapshot()
    assert [r["seq"] for r in snap["recent"]] == list(range(13, 13 - RECENT, -1))
    assert snap["last"]["seq"] == 13 and (snap["last"]["price_tiyn"], snap["last"]["family_tiyn"]) == (
        45_000,
        15_000,
    )
    assert snap["counts"] == {"day": DAY, "by_slot": {"1": 6, "2": 6}}  # seq 5 was refused


def test_a_re_shown_decision_is_shown_again_but_not_counted_or_listed_twice() -> None:
    board = Board()
    board.new_day(DAY, {1: 4})
    board.decided(shown(7))
    board.decided(shown(7, repeat=True))
    snap = board.snapshot()
    assert snap["counts"]["by_slot"] == {"1": 5}
    assert [r["seq"] for r in snap["recent"]] == [7]
    assert snap["last"]["repeat"] is True


def test_a_meal_of_another_day_than_the_counted_one_is_not_added_to_todays_counts() -> None:
    board = Board()
    board.new_day(DAY, {1: 2})
    board.decided(shown(1, day=DAY - 1))
    assert board.snapshot()["counts"]["by_slot"] == {"1": 2}
    board.new_day(DAY + 1, {})
    assert board.snapshot()["counts"] == {"day": DAY + 1, "by_slot": {}}


def test_a_restart_shows_the_journals_last_decisions() -> None:
    board = Board()
    board.load([shown(seq) for seq in range(1, 16)])
    snap = board.snapshot()
    assert len(snap["recent"]) == RECENT and snap["recent"][0]["seq"] == 15 and snap["last"]["seq"] == 15


def test_a_status_bumps_the_version_only_when_what_the_screen_shows_changes() -> None:
    board = Board()
    board.set_status(Status(now_ms=1_000, standing="IDLE", online=True))
    v = board.version
    board.set_status(Status(now_ms=61_000, standing="IDLE", online=True))  # the clock alone
    assert board.version == v
    board.set_status(Status(now_ms=62_000, standing="WARNING", faults=("ALLOWLIST_STALE",), online=False))
    assert board.version == v + 1
    assert board.snapshot()["status"]["faults"] == ("ALLOWLIST_STALE",)


def test_a_waiting_reader_wakes_on_a_decision() -> None:
    board = Board()
    seen = board.version
    woke: list[int] = []
    reader = threading.Thread(target=lambda: woke.append(board.wait(seen, timeout=10)))
    reader.start()
    board.decided(shown(1))
    reader.join(10)
    assert woke == [seen + 1]
    assert board.wait(seen + 1, timeout=0.01) == seen + 1  # nothing new: the timeout passes


def test_a_served_meal_is_priced_with_the_familys_share_from_the_bundles_tariffs() -> None:
    # breakfast 450 ₸ on both plans; on the discounted plan (2) the family pays 150 ₸, from tomorrow 200 ₸
    cal = Calendar(
        300,
        (MealSlot(1, 540, 600),),
        {DAY: (1,)},
        {1: {1: 45_000}, 2: {1: 45_000}},
        (TariffChange(DAY + 1, 2, 1, 45_000, 20_000),),
        {2: {1: 15_000}},
    )
    assert priced(cal, True, 2, 1, DAY) == (45_000, 15_000)
    assert priced(cal, True, 2, 1, DAY + 1) == (45_000, 20_000)
    assert priced(cal, True, 1, 1, DAY) == (45_000, 0)  # free: the state pays it all
    assert priced(cal, False, 2, 1, DAY) == (None, None)  # a refusal shows no price
    assert priced(cal, True, 2, 2, DAY) == (None, None)  # no tariff for that slot
    assert priced(None, True, 2, 1, DAY) == (None, None)  # no bundle

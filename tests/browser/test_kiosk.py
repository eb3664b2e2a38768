"""The staff's screen in a real browser (Debian's Chromium through Playwright) against a simulated
terminal: a QR and a card are presented, the verdict, the pupil and the day's count change on the page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from device.interfaces import CardRead
from device.kiosk.server import KioskServer
from device.kiosk.texts import TEXTS
from device.sim import scenario
from device.sim.clock import ManualClock
from device.sim.indicator import PrintingIndicator
from device.terminal import Terminal

from .harness import run_axe

KK, RU = TEXTS["kk"], TEXTS["ru"]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    """A simulated terminal at 09:00 on a school day (breakfast), its clock moved by hand."""
    keys = scenario.Keys()
    day = dt.date(2026, 11, 23)
    now = scenario.unix_local(day.year, day.month, day.day, 9, 0)
    bundle = scenario.bundle(days=(day,), generated_at=now - 3600, valid_until=now + 2 * 86_400)
    cfg = scenario.provision(tmp_path / "terminal", keys, bundle)
    clock = ManualClock(now)
    term = Terminal.from_config(cfg, clock=clock, indicator=PrintingIndicator(out=lambda _s: None))
    term.clock.set_trusted(now)
    yield Rig(term, clock, keys)
    term.close()


@dataclass
class Rig:
    terminal: Terminal
    clock: ManualClock
    keys: scenario.Keys

    def qr(self, voucher: int) -> str:
        return scenario.qr_text(self.keys, voucher, int(self.clock.wall()))


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = browser.new_page(viewport={"width": 800, "height": 480})  # the official 7" DSI screen
    yield page
    page.close()


@pytest.fixture
def kiosk(rig: Rig) -> Iterator[KioskServer]:
    server = KioskServer(rig.terminal.board, port=0)
    server.start()
    rig.terminal.housekeeping()  # the status the timer would push: slots, allowlist age
    yield server
    server.stop()


def slot_count(page: Any, slot: int) -> Any:
    return page.locator(f'[data-test="counts"] li[data-slot="{slot}"] strong')


def test_a_qr_and_a_card_change_the_verdict_and_the_count(
    rig: Rig, kiosk: KioskServer, page: Any, tmp_path: Path
) -> None:
    page.goto(kiosk.url)
    word = page.locator("#verdict-word")
    expect(word).to_have_text(KK["ui.waiting"])
    expect(slot_count(page, scenario.BREAKFAST.slot_id)).to_have_text("0")

    served = rig.terminal.present_qr(rig.qr(4))
    assert served.served
    expect(word).to_have_text(KK["ui.served"])
    expect(page.locator("#who")).to_have_text(served.display)
    expect(slot_count(page, scenario.BREAKFAST.slot_id)).to_have_text("1")
    # a free meal: its plan and price, nothing for the family to pay
    assert scenario.plan(4) == scenario.FREE
    expect(page.locator("#plan")).to_have_text(f"{KK['plan.1']} · {KK['ui.price'].format(amount='450 ₸')}")

    card = rig.terminal.present_card(CardRead(scenario.card_uid(6), None))  # even: registered by UID
    assert card.served
    expect(slot_count(page, scenario.BREAKFAST.slot_id)).to_have_text("2")
    expect(page.locator("#who")).to_have_text(card.display)
    expect(page.locator('[data-test="recent"] li')).to_have_count(2)

    rig.clock.advance(11)  # past the re-show window: a second breakfast for pupil 4
    again = rig.terminal.present_qr(rig.qr(4))
    assert not again.served
    expect(word).to_have_text(KK["ui.refused"])
    expect(page.locator("#reason")).to_have_text(KK["reason.ALREADY_SERVED"])
    expect(slot_count(page, scenario.BREAKFAST.slot_id)).to_have_text("2")  # a refusal is no meal
    page.screenshot(path=str(tmp_path / "kiosk-kk.png"))

    page.locator('button[data-lang="ru"]').click()
    expect(word).to_have_text(RU["ui.refused"])
    expect(page.locator("#reason")).to_have_text(RU["reason.ALREADY_SERVED"])
    assert run_axe(page) == []
    page.screenshot(path=str(tmp_path / "kiosk-ru.png"))


def test_a_discounted_meal_shows_the_familys_share_in_tenge(
    rig: Rig, kiosk: KioskServer, page: Any, tmp_path: Path
) -> None:
    pupil = 3
    assert scenario.plan(pupil) == scenario.DISCOUNTED
    breakfast = scenario.BREAKFAST.slot_id
    # the simulated school's breakfast: 450 ₸, of which the family pays 150 ₸ on the discounted plan
    price, family = (
        f"{tiyn // 100} ₸" for tiyn in (scenario.PRICES[breakfast], scenario.FAMILY_SHARES[breakfast])
    )
    page.goto(kiosk.url)
    assert rig.terminal.present_qr(rig.qr(pupil)).served
    line = page.locator("#plan")
    expect(line).to_have_text(
        f"{KK['plan.2']} · {KK['ui.price'].format(amount=price)} · {KK['ui.family_pays'].format(amount=family)}"
    )
    page.screenshot(path=str(tmp_path / "kiosk-discounted-kk.png"))
    page.locator('button[data-lang="ru"]').click()
    expect(line).to_have_text(
        f"{RU['plan.2']} · {RU['ui.price'].format(amount=price)} · {RU['ui.family_pays'].format(amount=family)}"
    )
    assert run_axe(page) == []
    page.screenshot(path=str(tmp_path / "kiosk-discounted-ru.png"))

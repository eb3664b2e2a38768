"""The staff's screen in a real browser (Debian's Chromium through Playwright) against a simulated
terminal: a QR and a card are presented, the verdict, the pupil and the day's count change on the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from device.interfaces import CardRead
from device.kiosk.server import KioskServer
from device.kiosk.texts import TEXTS
from device.sim import scenario
from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS, in_ci, run_axe

from .conftest import Rig

KK, RU = TEXTS["kk"], TEXTS["ru"]


@pytest.fixture
def page() -> Iterator[Any]:
    if not CHROMIUM.exists():
        msg = f"{CHROMIUM} is missing (apt-get install chromium)"
        if in_ci():
            pytest.fail(msg + " — CI=true, so browser tests must run")
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 800, "height": 480})  # the official 7" DSI screen
        browser.close()


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

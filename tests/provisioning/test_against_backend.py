"""Provisioning against the real back end (FastAPI app, SQLite and PostgreSQL), not the fake one:
enrolment with an admin's one-time code, the first lists, the terminal core starting from them, and
both card endpoints (registration reaching the next allowlist; a credential written on an NTAG). The back end's clock is fixed in September 2026, so this also runs the device-auth
retry at the server's time that docs/terminal-api.md asks for."""

import io
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from backend.auth.model import Role
from backend.clock import FixedClock
from backend.context import AppContext
from device.config import load_config
from device.hw import ndef
from device.hw.config import HardwareConfig
from device.hw.fake_pn532 import FakeMifareClassic, FakeNtag, FakePn532Serial
from device.sim.indicator import PrintingIndicator
from device.terminal import Terminal
from provisioning.cards import AdminClient, register_cards, write_credential
from provisioning.enrol import EnrolClient, enrol_terminal
from provisioning.progress import Progress
from provisioning.roster import fetch_roster, pinned_trust
from shared_crypto import SigningKey, uid_hash, verify_bundle

# The back end's own fixtures (tests/backend/conftest.py and its operations suite), used here as they are.
from tests.backend.conftest import (  # noqa: F401
    _pg_template,
    _sqlite_template,
    admin_token,
    app,
    backend_url,
    clock,
    ctx,
    make_pupil,
    make_school,
    pg_url,
    settings,
    sqlite_url,
    uow_factory,
)
from tests.backend.operations.conftest import make_voucher, with_lunch_slot  # noqa: F401

from .test_cards import SwappingPort, reader_for


def test_enrol_fetch_and_register_cards_against_the_back_end(
    tmp_path: Path,
    app: FastAPI,  # noqa: F811
    ctx: AppContext,  # noqa: F811
    clock: FixedClock,  # noqa: F811
    make_school: Callable[..., int],  # noqa: F811
    make_pupil: Callable[..., int],  # noqa: F811
    make_voucher: Callable[..., int],  # noqa: F811
    with_lunch_slot: Callable[[int], None],  # noqa: F811
    admin_token: Callable[..., tuple[int, dict[str, str]]],  # noqa: F811
) -> None:
    school = make_school()
    with_lunch_slot(school)
    pupil = make_pupil(school, full_name="Сейтқали Айгерим", class_name="5А")
    voucher = make_voucher(pupil, school)
    _, tech = admin_token(Role.TECHNICIAN, (school,))
    http = TestClient(app, base_url="http://backend.test")
    code = http.post(
        "/api/admin/v1/terminals/enrolment-codes", json={"school_id": school, "canteen_id": 3}, headers=tech
    ).json()["code"]

    def now() -> float:
        return clock.now().timestamp()

    out = io.StringIO()
    skewed = EnrolClient(http, now=lambda: now() + 86_400)  # this terminal's clock is a day ahead
    cfg = enrol_terminal(
        skewed,
        server_url="http://backend.test",
        code=code,
        root_fingerprint=ctx.keys.root_public().kid.hex(),
        data_dir=tmp_path / "data",
        config_path=tmp_path / "terminal.toml",
        timezone="Asia/Almaty",
        hardware=HardwareConfig(),
        progress=Progress(5, out),
        now=now,
    )
    assert (cfg.school_id, cfg.canteen_id) == (school, 3)
    assert "clock is 86400 s ahead of the server's" in out.getvalue()

    # the terminal core starts from what enrolment left, with this pupil in its allowlist
    terminal = Terminal.from_config(
        load_config(tmp_path / "terminal.toml"),
        indicator=PrintingIndicator(lambda line: print(line, file=out)),
    )
    try:
        assert terminal.store.bundle is not None
        assert [e.voucher_id for e in terminal.store.bundle.entries] == [voucher]
    finally:
        terminal.close()

    # cards: pick the pupil from the verified allowlist (display string only), register a MIFARE card
    client = EnrolClient(http, now=now)
    roster = fetch_roster(client, cfg, pinned_trust(cfg), now=now)
    (pick,) = roster.find("5А")
    assert "Сейтқали" not in pick.display  # initials and class only
    card = FakeMifareClassic(b"\x0a\x0b\x0c\x0d")
    token = tech["Authorization"].removeprefix("Bearer ")
    done = register_cards(
        reader_for(SwappingPort([card, None])),
        AdminClient(http, token),
        lambda uid: pick,
        Progress(0, out),
        timeout_s=0.3,
    )
    assert done == [(card.uid, pick)]
    fresh = verify_bundle(
        client.fetch("/allowlist", "allowlist", SigningKey.load(cfg.key_file), cfg.terminal_id),
        pinned_trust(cfg),
        school_id=school,
        now=int(now()),
        leeway=300,
    )
    (entry,) = fresh.entries
    assert entry.card_uid_hashes == (uid_hash(card.uid),)

    # and a new NTAG card gets a credential from the back end, checked as the terminal will, then written
    port = FakePn532Serial()
    port.card = FakeNtag(bytes.fromhex("04a1b2c3d4e5f6"))
    written = write_credential(
        reader_for(port), AdminClient(http, token), pick, keys=pinned_trust(cfg), school_id=school
    )
    assert written.uid == port.card.uid and ndef.card_credential(port.card.user_bytes())

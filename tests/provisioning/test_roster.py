import io
from collections.abc import Callable
from pathlib import Path

import pytest

from device.allowlist_store import ALLOWLIST_FILE
from device.config import DeviceConfig
from device.hw.config import HardwareConfig
from provisioning.enrol import EnrolClient, enrol_terminal
from provisioning.errors import Problem, ProvisioningError
from provisioning.progress import Progress
from provisioning.roster import MAX_LISTED, Pupil, Roster, fetch_roster, pick_pupil, pinned_trust
from shared_crypto import (
    Entry,
    EntryStatus,
    SigningKey,
    TrustStore,
    sign_bundle,
    verify_bundle,
    verify_trust_list,
)

from .fake_backend import ENTRIES, FakeBackend

ROSTER = Roster(ENTRIES)


def scripted(answers: list[str]) -> tuple[list[str], list[str], Callable[[str], str]]:
    said: list[str] = []
    asked: list[str] = []
    it = iter(answers)

    def ask(question: str) -> str:
        asked.append(question)
        return next(it)

    return said, asked, ask


def test_find_by_class_initials_or_voucher_id() -> None:
    assert [p.voucher_id for p in ROSTER.find("5б")] == [501, 503]  # any case, sorted by display
    assert [p.voucher_id for p in ROSTER.find("А. Б.")] == [501, 502]
    assert [p.voucher_id for p in ROSTER.find("#502")] == [502]
    assert ROSTER.find("502") == ROSTER.find("#502") and ROSTER.find("9Я") == []


def test_pick_lists_matches_and_takes_a_number() -> None:
    said, asked, ask = scripted(["9Я", "7А", "", "5Б", "x", "3", "2"])
    picked = pick_pupil(ROSTER, ask, said.append)
    assert picked == Pupil(503, b"\x33" * 16, "Е. Ж., 5Б")
    text = "\n".join(said)
    assert "no pupil matches '9Я'" in text and "'x' is not a number" in text and "'3' is not" in text
    assert "   1) А. Б., 5Б  (voucher 501)" in text and "   2) Е. Ж., 5Б  (voucher 503)" in text
    assert asked[2] == "number 1-1 (empty to search again): " and asked[3].startswith("pupil:")


def test_too_many_matches_ask_for_more_and_empty_search_ends() -> None:
    crowd = Roster(
        Entry(i, i.to_bytes(16, "big"), (), 1, EntryStatus.ACTIVE, 0, "А. А., 5Б")
        for i in range(MAX_LISTED + 1)
    )
    said, _, ask = scripted(["5Б", ""])
    assert pick_pupil(crowd, ask, said.append) is None
    assert said == [f"{MAX_LISTED + 1} pupils match '5Б': add the initials or give the voucher id"]


def enrolled(backend: FakeBackend, tmp_path: Path) -> DeviceConfig:
    return enrol_terminal(
        EnrolClient(backend.client(), now=lambda: backend.now),
        server_url="https://sw.test",
        code="ABCD-1234",
        root_fingerprint=backend.root.kid.hex(),
        data_dir=tmp_path / "data",
        config_path=tmp_path / "terminal.toml",
        timezone="Asia/Almaty",
        hardware=HardwareConfig(),
        progress=Progress(5, io.StringIO()),
        now=lambda: backend.now,
    )


def test_roster_is_the_freshly_fetched_verified_allowlist(tmp_path: Path) -> None:
    backend = FakeBackend()
    cfg = enrolled(backend, tmp_path)
    (tmp_path / "data" / ALLOWLIST_FILE).unlink()  # not read: the roster comes from the server
    client = EnrolClient(backend.client(), now=lambda: backend.now)
    roster = fetch_roster(client, cfg, pinned_trust(cfg), now=lambda: backend.now)
    assert len(roster) == 3 and roster.find("7А")[0].pseudonym == b"\x22" * 16


def test_allowlist_not_signed_by_a_trusted_key_gives_no_roster(tmp_path: Path) -> None:
    backend = FakeBackend()
    cfg = enrolled(backend, tmp_path)
    good = verify_bundle(backend.bundle, _store(backend), school_id=cfg.school_id, now=backend.now, leeway=0)
    backend.bundle = sign_bundle(SigningKey.generate(), good)
    with pytest.raises(ProvisioningError) as e:
        client = EnrolClient(backend.client(), now=lambda: backend.now)
        fetch_roster(client, cfg, pinned_trust(cfg), now=lambda: backend.now)
    assert e.value.problem is Problem.ALLOWLIST and "UNKNOWN_KID" in e.value.what


def _store(backend: FakeBackend) -> TrustStore:
    return TrustStore(verify_trust_list(backend.trust_list, backend.root.public, now=None, leeway=0).keys)


def test_missing_pinned_root_says_enrol_again(tmp_path: Path) -> None:
    cfg = enrolled(FakeBackend(), tmp_path)
    cfg.root_key_file.unlink()
    with pytest.raises(ProvisioningError) as e:
        pinned_trust(cfg)
    assert e.value.problem is Problem.CONFIG and "enrol the terminal again" in e.value.fix

"""KeyStore: keys persist (0600), rotation overlaps in the trust list, which root signs with a rising sequence."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backend.clock import FixedClock
from backend.keys import KeyStore, main
from shared_crypto import KeyRole, verify_trust_list


def test_keys_persist_with_owner_only_mode(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 9, 1, tzinfo=UTC))
    ks = KeyStore(tmp_path / "k", clock)
    kid = ks.signing_key(KeyRole.VOUCHER_ISSUER).kid
    again = KeyStore(tmp_path / "k", clock)
    assert again.signing_key(KeyRole.VOUCHER_ISSUER).kid == kid
    assert again.root_public() == ks.root_public()
    for pem in (tmp_path / "k").glob("*.pem"):
        assert stat.S_IMODE(pem.stat().st_mode) == 0o600


def test_rotation_overlaps_and_sequence_rises(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 9, 1, tzinfo=UTC))
    ks = KeyStore(tmp_path / "k", clock)
    now = int(clock.now().timestamp())
    tl1 = verify_trust_list(ks.trust_list_cose(), ks.root_public(), now=now, leeway=0)
    old = ks.signing_key(KeyRole.VOUCHER_ISSUER)
    new = ks.rotate(KeyRole.VOUCHER_ISSUER, overlap=timedelta(days=2))
    assert new.kid != old.kid and ks.signing_key(KeyRole.VOUCHER_ISSUER).kid == new.kid
    tl2 = verify_trust_list(
        ks.trust_list_cose(), ks.root_public(), now=now, leeway=0, last_sequence=tl1.sequence
    )
    assert tl2.sequence > tl1.sequence
    kids = {k.kid for k in tl2.keys if k.role is KeyRole.VOUCHER_ISSUER}
    assert kids == {old.kid, new.kid}
    assert KeyRole.ROOT not in {k.role for k in tl2.keys}
    clock.advance(timedelta(days=3))
    tl3 = verify_trust_list(
        ks.trust_list_cose(), ks.root_public(), now=int(clock.now().timestamp()), leeway=0
    )
    assert {k.kid for k in tl3.keys if k.role is KeyRole.VOUCHER_ISSUER} == {new.kid}
    # a fresh process sees the rotation
    assert KeyStore(tmp_path / "k", clock).signing_key(KeyRole.VOUCHER_ISSUER).kid == new.kid


def test_cli_rotate_and_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SM_KEY_DIR", str(tmp_path / "k"))
    assert main(["show"]) == 0
    before = capsys.readouterr().out
    assert "trust list sequence 1" in before and before.count("voucher_issuer") == 1
    assert main(["rotate", "voucher_issuer", "--overlap-days", "3"]) == 0
    assert "sequence 2" in capsys.readouterr().out
    main(["show"])
    assert capsys.readouterr().out.count("voucher_issuer") == 2
    with pytest.raises(SystemExit):
        main(["rotate", "root"])


def test_processes_sharing_the_directory_agree(tmp_path: Path) -> None:
    """Workers starting at once create one set of keys; a rotation in one is seen by the others."""
    import threading

    clock = FixedClock(datetime(2026, 9, 1, tzinfo=UTC))
    stores: list[KeyStore] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        barrier.wait()
        stores.append(KeyStore(tmp_path / "k", clock))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({s.root_public() for s in stores}) == 1
    assert len({s.signing_key(KeyRole.VOUCHER_ISSUER).kid for s in stores}) == 1
    assert len(list((tmp_path / "k").glob("*.pem"))) == 4
    new = stores[0].rotate(KeyRole.VOUCHER_ISSUER)
    assert stores[1].signing_key(KeyRole.VOUCHER_ISSUER).kid == new.kid
    assert stores[2].sequence == stores[0].sequence
    tl = verify_trust_list(stores[3].trust_list_cose(), stores[3].root_public(), now=None, leeway=0)
    assert new.kid in {k.kid for k in tl.keys}

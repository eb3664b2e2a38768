"""Trust list and bundle installation: signatures, school, rollback, the held one staying in force."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from device import atomic
from device.allowlist_store import ALLOWLIST_FILE, TRUST_LIST_FILE, AllowlistStore, Freshness
from device.sim import scenario
from shared_crypto import Reason, SigningKey, VerificationError, sign_bundle

from .conftest import T0, default_bundle


def store(tmp_path: Path, keys: scenario.Keys, grace: int = 3600) -> AllowlistStore:
    scenario.provision(tmp_path, keys, default_bundle())
    return AllowlistStore(tmp_path, keys.root.public, scenario.SCHOOL_ID, leeway_s=60, stale_grace_s=grace)


def test_loads_what_provisioning_left(tmp_path: Path, keys: scenario.Keys) -> None:
    s = store(tmp_path, keys)
    assert s.bundle is not None and s.bundle.sequence == 1 and len(s.trust) == 3
    assert s.view is not None and s.view.by_voucher[4].display == scenario.display(4)
    assert s.view.entry_for_card(scenario.card_uid(4)) is not None
    assert s.view.entry_for_card(scenario.card_uid(5)) is None


def test_a_newer_bundle_replaces_the_old_on_flash(tmp_path: Path, keys: scenario.Keys) -> None:
    s = store(tmp_path, keys)
    newer = sign_bundle(keys.signer, default_bundle(sequence=2, n=3))
    assert s.install_bundle(newer, T0)
    assert s.bundle is not None and s.bundle.sequence == 2
    assert (tmp_path / ALLOWLIST_FILE).read_bytes() == newer
    assert not s.install_bundle(newer, T0)  # the same again: no change
    reread = AllowlistStore(tmp_path, keys.root.public, scenario.SCHOOL_ID, leeway_s=60, stale_grace_s=0)
    assert reread.bundle is not None and reread.bundle.sequence == 2


def _flip_last_bit(signed: bytes) -> bytes:
    return signed[:-1] + bytes([signed[-1] ^ 1])  # always a change, whatever the signature's last byte


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda k: sign_bundle(k.signer, default_bundle(sequence=0)), Reason.ROLLBACK),
        (lambda k: sign_bundle(k.signer, default_bundle(sequence=5, school_id=2002)), Reason.WRONG_SCHOOL),
        (lambda k: sign_bundle(SigningKey.generate(), default_bundle(sequence=5)), Reason.UNKNOWN_KID),
        (lambda k: sign_bundle(k.issuer, default_bundle(sequence=5)), Reason.WRONG_KEY_ROLE),
        (lambda k: _flip_last_bit(sign_bundle(k.signer, default_bundle(sequence=5))), Reason.BAD_SIGNATURE),
        (lambda k: b"\x00garbage", Reason.MALFORMED),
    ],
)
def test_bad_bundles_are_rejected_and_the_held_one_stays(
    tmp_path: Path, keys: scenario.Keys, make: object, reason: Reason
) -> None:
    s = store(tmp_path, keys)
    before = (tmp_path / ALLOWLIST_FILE).read_bytes()
    with pytest.raises(VerificationError) as e:
        s.install_bundle(make(keys), T0)  # type: ignore[operator]
    assert e.value.reason is reason
    assert s.bundle is not None and s.bundle.sequence == 1
    assert (tmp_path / ALLOWLIST_FILE).read_bytes() == before


def test_trust_list_rotation_and_rollback(tmp_path: Path, keys: scenario.Keys) -> None:
    s = store(tmp_path, keys)
    assert s.install_trust_list(keys.trust_list(sequence=3), T0)
    assert (tmp_path / TRUST_LIST_FILE).read_bytes() == keys.trust_list(sequence=3)
    with pytest.raises(VerificationError) as e:
        s.install_trust_list(keys.trust_list(sequence=2), T0)
    assert e.value.reason is Reason.ROLLBACK
    foreign = scenario.Keys()
    with pytest.raises(VerificationError) as e:
        s.install_trust_list(foreign.trust_list(sequence=9), T0)  # not signed by the pinned root
    assert e.value.reason is Reason.UNKNOWN_KID
    assert s.trust_list is not None and s.trust_list.sequence == 3


def test_freshness_policy(tmp_path: Path, keys: scenario.Keys) -> None:
    s = store(tmp_path, keys, grace=3600)
    assert s.bundle is not None
    exp = s.bundle.valid_until
    assert s.freshness(exp - 1) is Freshness.FRESH
    assert s.freshness(exp) is Freshness.STALE
    assert s.freshness(exp + 3599) is Freshness.STALE
    assert s.freshness(exp + 3600) is Freshness.EXPIRED


def test_a_tampered_file_on_flash_is_not_used(tmp_path: Path, keys: scenario.Keys) -> None:
    scenario.provision(tmp_path, keys, default_bundle())
    data = bytearray((tmp_path / ALLOWLIST_FILE).read_bytes())
    data[-1] ^= 1
    (tmp_path / ALLOWLIST_FILE).write_bytes(bytes(data))
    s = AllowlistStore(tmp_path, keys.root.public, scenario.SCHOOL_ID, leeway_s=60, stale_grace_s=0)
    assert s.bundle is None and s.freshness(T0) is Freshness.NONE
    assert len(s.trust) == 3


def test_nothing_on_flash(tmp_path: Path, keys: scenario.Keys) -> None:
    s = AllowlistStore(tmp_path, keys.root.public, scenario.SCHOOL_ID, leeway_s=60, stale_grace_s=0)
    assert s.bundle is None and s.trust_list is None
    with pytest.raises(VerificationError):  # no trust list yet: nothing can verify a bundle
        s.install_bundle(sign_bundle(keys.signer, default_bundle()), T0)


def test_files_are_replaced_atomically_and_durably(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append("dir-fsync" if os.path.isdir(f"/proc/self/fd/{fd}") else "file-fsync")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        calls.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)  # the os module atomic.py writes through
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "allowlist.cose"
    target.write_bytes(b"old")
    (tmp_path / ".allowlist.cose.tmp").write_bytes(b"half-written leftover of a power cut")
    atomic.atomic_write(target, b"new")
    assert calls == ["file-fsync", "rename", "dir-fsync"]
    assert target.read_bytes() == b"new" and not (tmp_path / ".allowlist.cose.tmp").exists()

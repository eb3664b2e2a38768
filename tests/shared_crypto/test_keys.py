"""Keys: kid rule, seeds, signatures, PEM files written 0600."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_crypto import SigningKey, VerifyKey, kid_of

from .helpers import ISSUER, key


def test_kid_is_first_8_bytes_of_sha256_of_the_raw_public_key() -> None:
    raw = ISSUER.public.raw
    assert len(raw) == 32
    assert kid_of(raw) == hashlib.sha256(raw).digest()[:8]
    assert ISSUER.kid == ISSUER.public.kid == kid_of(raw)


def test_kid_of_refuses_other_lengths() -> None:
    with pytest.raises(ValueError):
        kid_of(b"\x00" * 31)


def test_seed_round_trip_and_distinct_keys() -> None:
    again = SigningKey.from_seed(ISSUER.seed())
    assert again.public == ISSUER.public
    assert key("other").public != ISSUER.public
    assert hash(again.public) == hash(ISSUER.public)


def test_sign_verify() -> None:
    sig = ISSUER.sign(b"meal")
    assert ISSUER.public.verify(sig, b"meal")
    assert not ISSUER.public.verify(sig, b"meals")
    assert not key("other").public.verify(sig, b"meal")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_signatures_are_openssls_byte_for_byte(message: bytes) -> None:
    openssl = Ed25519PrivateKey.from_private_bytes(ISSUER.seed())
    assert ISSUER.sign(message) == openssl.sign(message)


def test_pem_file_is_owner_only_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "device.pem"
    k = SigningKey.generate()
    k.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert SigningKey.load(path).public == k.public


def test_save_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    SigningKey.generate().save(path)
    with pytest.raises(FileExistsError):
        SigningKey.generate().save(path)


def test_from_pem_refuses_a_non_ed25519_key() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError):
        SigningKey.from_pem(pem)


def test_verify_key_rejects_wrong_length() -> None:
    with pytest.raises(ValueError):
        VerifyKey(b"\x01" * 33)

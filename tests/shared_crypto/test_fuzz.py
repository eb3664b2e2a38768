"""Fuzz harness: random, truncated, bit-flipped and CBOR-mutated inputs only ever raise VerificationError.

Seeds are fixed so a failure reproduces; the mutation sources are the committed valid vectors of every
object type, so each verifier's whole parsing path is exercised.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared_crypto import (
    Reason,
    SigningKey,
    VerificationError,
    from_qr_text,
    sign1,
    to_qr_text,
    verify_qr_text,
)
from tests.vectors import OBJECTS, check, load

from .helpers import NOW, store

SEED = 20250908
VALID = [(obj, v) for obj in OBJECTS for v in load(obj)["vectors"] if v["id"] == "valid"]
TOKEN_TEXT = bytes.fromhex(
    next(v for v in load("voucher_token")["vectors"] if v["id"] == "valid")["data"]
).decode()


def _outcome(obj: str, vector: dict[str, Any], data: bytes) -> dict[str, Any]:
    """Verify mutated data; anything but a VerificationError escapes and fails the test."""
    mutated = {**vector, "data": data.hex()}
    result = check(obj, mutated)
    if not result["valid"]:
        assert Reason(result["reason"]) in Reason
    return result


def _cose_of(vector: dict[str, Any]) -> bytes:
    data = bytes.fromhex(vector["data"])
    if vector["form"] == "qr_text":
        return from_qr_text(data.decode())
    if vector["form"] == "header":
        return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))
    return data


def _present(form: str, cose: bytes) -> bytes:
    if form == "qr_text":
        return to_qr_text(cose).encode()
    if form == "header":
        return base64.urlsafe_b64encode(cose).rstrip(b"=")
    return cose


def _bit_flips(data: bytes, rng: random.Random, n: int) -> Iterator[bytes]:
    for _ in range(n):
        b = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(b) * 8)
            b[i // 8] ^= 1 << (i % 8)
        yield bytes(b)


def _mutate(value: Any, rng: random.Random) -> Any:
    """One structural change somewhere in a decoded CBOR tree."""
    if isinstance(value, cbor2.CBORTag):
        return cbor2.CBORTag(rng.choice([value.tag, 16, 17, 61, 98]), _mutate(value.value, rng))
    if isinstance(value, list) and value:
        v = list(value)
        i = rng.randrange(len(v))
        op = rng.randrange(4)
        if op == 0:
            v[i] = _mutate(v[i], rng)
        elif op == 1:
            del v[i]
        elif op == 2:
            v.insert(i, _replacement(rng))
        else:
            v[i] = _replacement(rng)
        return v
    if isinstance(value, dict) and value:
        d = dict(value)
        k = rng.choice(list(d))
        op = rng.randrange(3)
        if op == 0:
            d[k] = _mutate(d[k], rng)
        elif op == 1:
            del d[k]
        else:
            d[rng.choice([k, -99, 0, 1, "x"])] = _replacement(rng)
        return d
    if isinstance(value, bytes) and value:
        if rng.random() < 0.3:  # a byte string holding CBOR (protected header, payload): mutate inside
            try:
                return cbor2.dumps(_mutate(cbor2.loads(value), rng), canonical=True)
            except Exception:  # not CBOR inside: fall through to a plain change
                pass
        return value[: rng.randrange(len(value))] + bytes([rng.randrange(256)])
    return _replacement(rng)


def _replacement(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            True,
            -1,
            0,
            2**32,
            2**64 - 1,
            -(2**63),
            1.5,
            "",
            "SW1:",
            b"",
            b"\x00" * 16,
            [],
            {},
            [[]],
            {1: -8},
        ]
    )


@pytest.mark.parametrize(("obj", "vector"), VALID, ids=[o for o, _ in VALID])
def test_bit_flips_and_truncations(obj: str, vector: dict[str, Any]) -> None:
    rng = random.Random(SEED)
    data = bytes.fromhex(vector["data"])
    flips = list(_bit_flips(data, rng, 1000 if len(data) < 4096 else 60))
    cuts = [data[: rng.randrange(len(data))] for _ in range(200)]
    for mutated in flips + cuts:
        result = _outcome(obj, vector, mutated)
        assert not result["valid"] or result == vector["expected"]


@pytest.mark.parametrize(("obj", "vector"), VALID, ids=[o for o, _ in VALID])
def test_cbor_structure_mutations(obj: str, vector: dict[str, Any]) -> None:
    rng = random.Random(SEED + 1)
    decoded = cbor2.loads(_cose_of(vector))
    tried = 0
    for _ in range(1000):
        mutant = _mutate(decoded, rng)  # builds new containers; `decoded` stays as it was
        try:
            mutated = cbor2.dumps(mutant, canonical=rng.random() < 0.8)
        except (TypeError, ValueError, cbor2.CBOREncodeError):
            continue  # a mutant cbor2 cannot encode (e.g. a list as a map key) is no input
        tried += 1
        result = _outcome(obj, vector, _present(vector["form"], mutated))
        assert not result["valid"] or result == vector["expected"]  # e.g. an ignored unprotected label
    assert tried > 900


SIGNERS = {
    "voucher_token": "issuer_new",
    "card_credential": "card",
    "allowlist_bundle": "signer",
    "trust_list": "root",
    "meal_batch": "device",
    "device_auth": "device",
    "signed_time": "signer",
}


@pytest.mark.parametrize(("obj", "vector"), VALID, ids=[o for o, _ in VALID])
def test_resigned_claim_mutations(obj: str, vector: dict[str, Any]) -> None:
    """Mutate the claims and sign them again, so every claim reader sees hostile values behind a good signature."""
    rng = random.Random(SEED + 3)
    signer = SigningKey.from_seed(bytes.fromhex(load(obj)["signing_keys"][SIGNERS[obj]]["seed"]))
    claims = cbor2.loads(cbor2.loads(_cose_of(vector)).value[2])
    reasons: set[str] = set()
    for _ in range(600):
        try:
            payload = cbor2.dumps(_mutate(claims, rng), canonical=True)
        except (TypeError, ValueError, cbor2.CBOREncodeError):
            continue
        result = _outcome(obj, vector, _present(vector["form"], sign1(payload, signer)))
        reasons.add(result.get("reason", "VALID"))
    assert "MALFORMED" in reasons  # the mutants reached the claim readers


@pytest.mark.parametrize(("obj", "vector"), VALID, ids=[o for o, _ in VALID])
def test_random_bytes(obj: str, vector: dict[str, Any]) -> None:
    rng = random.Random(SEED + 2)
    for _ in range(300):
        result = _outcome(obj, vector, rng.randbytes(rng.randrange(0, 300)))
        assert not result["valid"]


def test_every_single_bit_flip_of_a_token_is_rejected() -> None:
    vector = next(v for v in load("voucher_token")["vectors"] if v["id"] == "valid")
    data = from_qr_text(TOKEN_TEXT)
    for i in range(len(data) * 8):
        b = bytearray(data)
        b[i // 8] ^= 1 << (i % 8)
        cose_vector = {**vector, "form": "cose"}
        assert not _outcome("voucher_token", cose_vector, bytes(b))["valid"], i


_QR_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def _verify_text(text: str) -> None:
    try:
        verify_qr_text(text, store(), now=NOW, leeway=30)
    except VerificationError as exc:
        assert exc.reason in Reason


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=600), st.text(alphabet=_QR_ALPHABET, max_size=300).map("SW1:".__add__)))
def test_random_qr_texts(text: str) -> None:
    _verify_text(text)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(TOKEN_TEXT) - 1), st.sampled_from(_QR_ALPHABET))
def test_qr_text_character_substitution_never_verifies(pos: int, char: str) -> None:
    text = TOKEN_TEXT[:pos] + char + TOKEN_TEXT[pos + 1 :]
    if text == TOKEN_TEXT:
        return
    with pytest.raises(VerificationError) as exc:
        verify_qr_text(text, store(), now=NOW, leeway=30)
    assert exc.value.reason in Reason


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(range(len(VALID))))
def test_hypothesis_binary_into_every_verifier(data: bytes, which: int) -> None:
    obj, vector = VALID[which]
    assert not _outcome(obj, vector, data)["valid"]

"""COSE_Sign1 profile and strict CBOR: what is emitted, and each structural rule of the decoder."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest

from shared_crypto import KeyRole, Reason, VerificationError, sign1, verify_sign1
from shared_crypto.cbor import dumps, loads_strict
from shared_crypto.cose import decode_sign1

from .helpers import ISSUER, NOW, store


def _reason(fn: Any, *args: Any, **kw: Any) -> Reason:
    with pytest.raises(VerificationError) as exc:
        fn(*args, **kw)
    return exc.value.reason


def _raw(protected: bytes, unprotected: dict[int, Any], payload: bytes, tagged: bool = True) -> bytes:
    sig = ISSUER.sign(dumps(["Signature1", protected, b"", payload]))
    arr = [protected, unprotected, payload, sig]
    return dumps(cbor2.CBORTag(18, arr) if tagged else arr)


def test_emitted_profile() -> None:
    data = sign1(b"\xa0", ISSUER)
    obj = cbor2.loads(data)
    assert obj.tag == 18
    protected, unprotected, payload, sig = obj.value
    assert cbor2.loads(protected) == {1: -8, 4: ISSUER.kid}
    assert protected == bytes.fromhex("a2012704") + b"\x48" + ISSUER.kid  # alg first, then kid: deterministic
    assert unprotected == {} and payload == b"\xa0" and len(sig) == 64


@pytest.mark.parametrize("size", [0, 23, 24, 255, 256, 70000])
def test_sign1_is_deterministic_cbor_at_every_length_head(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    data = sign1(payload, ISSUER)
    protected, unprotected, got, sig = cbor2.loads(data).value
    assert got == payload and unprotected == {}
    assert data == dumps(cbor2.CBORTag(18, [protected, {}, payload, sig]))  # what cbor2 would emit
    assert ISSUER.public.verify(sig, dumps(["Signature1", protected, b"", payload]))


def test_verify_sign1_returns_kid_and_payload() -> None:
    kid, payload = verify_sign1(
        sign1(b"\xa0", ISSUER), store(), KeyRole.VOUCHER_ISSUER, now=NOW, leeway=0, max_size=100
    )
    assert (kid, payload) == (ISSUER.kid, b"\xa0")


@pytest.mark.parametrize(
    ("hex_in", "why"),
    [
        ("9f01ff", "indefinite-length array"),
        ("5f4101ff", "indefinite-length byte string"),
        ("a201010102", "duplicate map key"),
        ("a2020101 01".replace(" ", ""), "unsorted map keys"),
        ("1801", "non-shortest integer"),
        ("190001", "non-shortest 16-bit integer"),
        ("0100", "trailing byte"),
        ("c24101", "bignum tag for a small integer"),
        ("fa3f800000", "float not in its shortest form"),
        ("1c", "reserved additional information"),
        ("", "empty input"),
        ("bf01ff", "truncated indefinite map"),
    ],
)
def test_loads_strict_rejects(hex_in: str, why: str) -> None:
    assert _reason(loads_strict, bytes.fromhex(hex_in), 100, why) is Reason.MALFORMED


def test_loads_strict_accepts_deterministic_cbor() -> None:
    assert loads_strict(bytes.fromhex("a3010104022002"), 100, "map") == {1: 1, 4: 2, -1: 2}


def test_size_cap_comes_before_parsing() -> None:
    assert _reason(loads_strict, b"\xff" * 101, 100, "x") is Reason.TOO_LARGE


def test_deep_nesting_is_malformed_not_a_crash() -> None:
    assert _reason(loads_strict, b"\x81" * 100_000 + b"\x00", 1 << 20, "deep") is Reason.MALFORMED


@pytest.mark.parametrize(
    ("protected", "unprotected", "reason"),
    [
        ({1: -7, 4: ISSUER.kid}, {}, Reason.UNSUPPORTED_ALG),
        ({4: ISSUER.kid}, {}, Reason.UNSUPPORTED_ALG),
        ({4: ISSUER.kid}, {1: -8}, Reason.UNSUPPORTED_ALG),
        ({1: "EdDSA", 4: ISSUER.kid}, {}, Reason.UNSUPPORTED_ALG),
        ({1: -8, 4: ISSUER.kid}, {1: -7}, Reason.HEADER_CONFLICT),
        ({1: -8, 4: ISSUER.kid}, {4: b"\x00" * 8}, Reason.HEADER_CONFLICT),
        ({1: -8, 4: ISSUER.kid}, {4: ISSUER.kid.hex()}, Reason.HEADER_CONFLICT),
        ({1: -8}, {4: ISSUER.kid}, Reason.MALFORMED),
        ({1: -8, 4: ISSUER.kid[:7]}, {}, Reason.MALFORMED),
        ({1: -8, 4: ISSUER.kid, 2: [4]}, {}, Reason.MALFORMED),
        ({1: -8, 4: ISSUER.kid}, {2: [4]}, Reason.MALFORMED),
        ({1.0: -8, 4: ISSUER.kid}, {}, Reason.MALFORMED),  # a float label equal to 1 is not label 1
        ({1: -8, 4: ISSUER.kid}, {True: -8}, Reason.MALFORMED),
    ],
)
def test_header_rules(protected: dict[int, Any], unprotected: dict[int, Any], reason: Reason) -> None:
    data = _raw(dumps(protected), unprotected, b"\xa0")
    assert _reason(decode_sign1, data, 256) is reason


def test_empty_protected_header_means_no_alg() -> None:
    assert _reason(decode_sign1, _raw(b"", {1: -8, 4: ISSUER.kid}, b"\xa0"), 256) is Reason.UNSUPPORTED_ALG


def test_agreeing_unprotected_header_is_accepted_and_untagged_too() -> None:
    data = _raw(dumps({1: -8, 4: ISSUER.kid}), {1: -8, 4: ISSUER.kid}, b"\xa0", tagged=False)
    assert decode_sign1(data, 256).kid == ISSUER.kid


@pytest.mark.parametrize(
    "obj",
    [
        cbor2.CBORTag(17, [b"", {}, b"", b"\x00" * 64]),
        [b"", {}, b""],
        {1: 2},
        [{}, {}, b"", b"\x00" * 64],
        [b"", [], b"", b"\x00" * 64],
        [b"", {}, None, b"\x00" * 64],
        [b"", {}, b"", b"\x00" * 63],
        [dumps([1]), {}, b"", b"\x00" * 64],
    ],
    ids=["tag17", "three", "map", "prot-map", "unprot-array", "detached", "sig63", "prot-array"],
)
def test_structure_rules(obj: Any) -> None:
    assert _reason(decode_sign1, dumps(obj), 256) is Reason.MALFORMED


def test_oversized_protected_header_is_too_large() -> None:
    big = dumps({1: -8, 4: ISSUER.kid, 99: b"x" * 80})
    assert _reason(decode_sign1, _raw(big, {}, b"\xa0"), 512) is Reason.TOO_LARGE


def test_the_emitted_protected_header_fast_path_gives_what_cbor_gives() -> None:
    """decode_sign1 skips CBOR for the exact header sign1 writes; the result must be the general path's."""
    for kid in (ISSUER.kid, b"\x00" * 8, b"\xff" * 8):
        protected = dumps({1: -8, 4: kid})
        assert protected == bytes.fromhex("a201270448") + kid
        assert loads_strict(protected, 64, "h") == {1: -8, 4: kid}
        assert decode_sign1(_raw(protected, {}, b"\xa0"), 256).kid == kid
    # One byte more (a 9-byte kid) or a different alg byte takes the general path and is refused there.
    nine = bytes.fromhex("a201270449") + b"\x00" * 9
    assert _reason(decode_sign1, _raw(nine, {}, b"\xa0"), 256) is Reason.MALFORMED
    es256 = bytes.fromhex("a201260448") + ISSUER.kid
    assert _reason(decode_sign1, _raw(es256, {}, b"\xa0"), 256) is Reason.UNSUPPORTED_ALG

"""Claims strictness (unknown, missing, wrongly typed claims) and the explicit leeway rule."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import cbor2
import pytest

import shared_crypto
from shared_crypto import Reason, VerificationError, sign1, verify_token
from shared_crypto import claims as c

from .helpers import ISSUER, NOW, store


def _reason(fn: Callable[..., Any], *args: Any, **kw: Any) -> Reason:
    with pytest.raises(VerificationError) as exc:
        fn(*args, **kw)
    return exc.value.reason


GOOD = {4: NOW + 300, 5: NOW - 60, -1: 1, -2: 4242, -3: 3, -4: 1}


def _token_with(**changes: Any) -> bytes:
    claims: dict[int, Any] = dict(GOOD)
    for name, value in changes.items():
        k = {"exp": 4, "nbf": 5, "voucher": -1, "school": -2, "serial": -3, "plan": -4}[name]
        if value is None:
            del claims[k]
        else:
            claims[k] = value
    return sign1(cbor2.dumps(claims, canonical=True), ISSUER)


def test_good_claims_verify() -> None:
    assert verify_token(_token_with(), store(), now=NOW, leeway=0).voucher_id == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"plan": None},
        {"exp": None},
        {"nbf": None},
        {"school": "4242"},
        {"serial": -3},
        {"serial": 3.0},
        {"plan": True},
        {"plan": 24},
        {"voucher": 1 << 32},
        {"exp": b"\x01"},
        {"school": [4242]},
        {"voucher": None, "plan": None},
    ],
    ids=repr,
)
def test_missing_or_wrongly_typed_claims_are_malformed(changes: dict[str, Any]) -> None:
    assert _reason(verify_token, _token_with(**changes), store(), now=NOW, leeway=0) is Reason.MALFORMED


@pytest.mark.parametrize("key", [4, 5, -1])
def test_a_claim_key_must_be_an_integer_not_an_equal_float(key: int) -> None:
    """4.0 == 4 and hashes alike in Python: without a type check the float key would be read as exp."""
    claims = {(float(k) if k == key else k): v for k, v in GOOD.items()}
    data = sign1(cbor2.dumps(claims, canonical=True), ISSUER)
    assert _reason(verify_token, data, store(), now=NOW, leeway=0) is Reason.MALFORMED


@pytest.mark.parametrize("extra", [{-5: 0}, {1: "issuer"}, {7: b"cti"}, {"exp": 1}])
def test_unknown_claims_are_malformed(extra: dict[Any, Any]) -> None:
    data = sign1(cbor2.dumps({**GOOD, **extra}, canonical=True), ISSUER)
    assert _reason(verify_token, data, store(), now=NOW, leeway=0) is Reason.MALFORMED


def test_claims_must_be_a_map() -> None:
    data = sign1(cbor2.dumps([GOOD[4]], canonical=True), ISSUER)
    assert _reason(verify_token, data, store(), now=NOW, leeway=0) is Reason.MALFORMED


VERIFIERS = [
    shared_crypto.verify_token,
    shared_crypto.verify_qr_text,
    shared_crypto.verify_card_credential,
    shared_crypto.verify_bundle,
    shared_crypto.verify_trust_list,
    shared_crypto.verify_batch,
    shared_crypto.verify_device_auth,
    shared_crypto.verify_time,
    shared_crypto.verify_sign1,
]


@pytest.mark.parametrize("fn", VERIFIERS, ids=lambda f: f.__name__)
def test_leeway_is_a_required_keyword_with_no_default(fn: Callable[..., Any]) -> None:
    param = inspect.signature(fn).parameters["leeway"]
    assert param.kind is inspect.Parameter.KEYWORD_ONLY
    assert param.default is inspect.Parameter.empty


def test_negative_leeway_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        c.check_window(None, NOW, NOW, -1, what="test object")


@pytest.mark.parametrize(
    ("now", "leeway", "reason"),
    [
        (NOW - 61, 0, Reason.NOT_YET_VALID),  # nbf = NOW - 60
        (NOW - 60, 0, None),  # nbf inclusive
        (NOW - 90, 30, None),
        (NOW - 91, 30, Reason.NOT_YET_VALID),
        (NOW + 299, 0, None),
        (NOW + 300, 0, Reason.EXPIRED),  # exp exclusive
        (NOW + 329, 30, None),
        (NOW + 330, 30, Reason.EXPIRED),
    ],
)
def test_window_edges(now: int, leeway: int, reason: Reason | None) -> None:
    if reason is None:
        c.check_window(NOW - 60, NOW + 300, now, leeway, what="token")
    else:
        assert _reason(c.check_window, NOW - 60, NOW + 300, now, leeway, what="token") is reason


@pytest.mark.parametrize(
    ("fn", "value"),
    [
        (lambda v: c.uint(v, "x", 10), 11),
        (lambda v: c.uint(v, "x"), False),
        (lambda v: c.bstr(v, "x", 2, 3), b"\x00"),
        (lambda v: c.bstr(v, "x", 2, 3), "ab"),
        (lambda v: c.tstr(v, "x", 2), "abc"),
        (lambda v: c.tstr(v, "x", 2), b"ab"),
        (lambda v: c.boolean(v, "x"), 1),
        (lambda v: c.array(v, "x", 1), [1, 2]),
        (lambda v: c.array(v, "x", 1), (1,)),
        (lambda v: c.tuple_of(v, "x", 2), [1]),
    ],
)
def test_readers_reject(fn: Callable[[Any], Any], value: Any) -> None:
    assert _reason(fn, value) is Reason.MALFORMED

"""The CDDL in docs/formats.md matches the code: valid vectors conform, wrongly shaped claims do not.

Validated with pycddl (bindings to the Rust `cddl` crate), an implementation independent of ours.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import cbor2
import pycddl
import pytest

from shared_crypto import from_qr_text
from tests.vectors import OBJECTS, load

DOC = (Path(__file__).resolve().parents[2] / "docs" / "formats.md").read_text(encoding="utf-8")
# Limits of the validator (cddl crate 0.9), not of the schema: it rejects every value of a range with a
# negative lower bound, and applies `.cbor` to the wrong element of an array. So the UTC-offset range is
# checked as `int` here (verify_bundle checks it: test_allowlist.py "tz"), and the two embedded CBOR byte
# strings of COSE_Sign1 are validated separately against their own rules.
_VALIDATOR_LIMITS = (
    ("-720..840", "int"),
    ("bstr .cbor protected-header", "bstr"),
    ("bstr .cbor claims", "bstr"),
)
CDDL = "\n".join(re.findall(r"```cddl\n(.*?)```", DOC, re.S))
for _written, _checked in _VALIDATOR_LIMITS:
    assert _written in CDDL, _written
    CDDL = CDDL.replace(_written, _checked)
RULE = {
    "voucher_token": "voucher-token-claims",
    "card_credential": "card-credential-claims",
    "allowlist_bundle": "allowlist-bundle-claims",
    "trust_list": "trust-list-claims",
    "meal_batch": "meal-batch-claims",
    "device_auth": "device-auth-claims",
    "signed_time": "signed-time-claims",
}
# Invalid vectors whose defect is the claims' shape (not uniqueness or a cross-field rule): CDDL must refuse
# them. The validator checks only the first element of an array of arrays (`[* key-entry]`), so these
# vectors put their defect there; "malformed-root-listed" (appended last) is left to verify_trust_list.
SHAPE_DEFECTS = {
    "voucher_token": [
        "malformed-missing-claim",
        "malformed-extra-claim",
        "malformed-claim-type",
        "malformed-claim-range",
        "malformed-float-claim-key",
    ],
    "card_credential": ["malformed-pseudonym"],
    "allowlist_bundle": ["malformed-entry-status"],
    "trust_list": ["malformed-role"],
    "meal_batch": ["malformed-event-keys", "malformed-method"],
}


def _schema(root: str) -> Any:
    return pycddl.Schema(f"root = {root}\n{CDDL}")


def _cose(obj: str, vector: dict[str, Any]) -> bytes:
    data = bytes.fromhex(vector["data"])
    if vector["form"] == "qr_text":
        return from_qr_text(data.decode())
    if vector["form"] == "header":
        return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))
    return data


def _part(cose: bytes, index: int) -> bytes:
    obj = cbor2.loads(cose)
    part: bytes = (obj.value if isinstance(obj, cbor2.CBORTag) else obj)[index]
    return part


def _payload(cose: bytes) -> bytes:
    return _part(cose, 2)


VALID = [(o, v) for o in OBJECTS for v in load(o)["vectors"] if v["expected"]["valid"]]


@pytest.mark.parametrize(("obj", "vector"), VALID, ids=[f"{o}/{v['id']}" for o, v in VALID])
def test_valid_vectors_conform(obj: str, vector: dict[str, Any]) -> None:
    cose = _cose(obj, vector)
    _schema(RULE[obj]).validate_cbor(_payload(cose))
    tagged = cose[0] == 0xD2
    _schema("COSE_Sign1_Tagged" if tagged else "COSE_Sign1").validate_cbor(cose)
    _schema("protected-header").validate_cbor(_part(cose, 0))


SHAPE = [(o, v) for o in SHAPE_DEFECTS for v in load(o)["vectors"] if v["id"] in SHAPE_DEFECTS[o]]


@pytest.mark.parametrize(("obj", "vector"), SHAPE, ids=[f"{o}/{v['id']}" for o, v in SHAPE])
def test_wrongly_shaped_claims_do_not_conform(obj: str, vector: dict[str, Any]) -> None:
    with pytest.raises(pycddl.ValidationError):
        _schema(RULE[obj]).validate_cbor(_payload(_cose(obj, vector)))


def test_every_shape_defect_vector_exists() -> None:
    assert len(SHAPE) == sum(len(ids) for ids in SHAPE_DEFECTS.values())


def test_headers_outside_the_profile_do_not_conform() -> None:
    vectors = {v["id"]: v for v in load("card_credential")["vectors"]}
    schema = _schema("COSE_Sign1_Tagged")
    for vid in ("header-conflict-alg", "malformed-short-signature", "malformed-wrong-tag"):
        with pytest.raises(pycddl.ValidationError):
            schema.validate_cbor(bytes.fromhex(vectors[vid]["data"]))
    header = _schema("protected-header")
    for vid in ("alg-es256", "alg-missing"):
        with pytest.raises(pycddl.ValidationError):
            header.validate_cbor(_part(bytes.fromhex(vectors[vid]["data"]), 0))


@pytest.mark.parametrize(
    "change",
    [
        lambda cal: cal[4][0].__setitem__(2, -1),
        lambda cal: cal[4][0].extend([1, 1]),
        lambda cal: cal[4][0].__setitem__(0, 24),
        lambda cal: cal.__setitem__(4, []),
        lambda cal: cal[5][0].__setitem__(0, 100_000_000),
        lambda cal: cal[5][0].__delitem__(slice(3, None)),
        lambda cal: cal.__setitem__(6, []),
        lambda cal: cal[4][0].append(0),
        lambda cal: cal[5][0].__setitem__(4, "300"),
        lambda cal: cal[5][0].__setitem__(4, 2**32),
        lambda cal: cal[5][0].append(1),
    ],
    ids=[
        "negative-tiyn",
        "long-row",
        "plan",
        "empty-tariffs",
        "change-day",
        "short-change",
        "extra-key",
        "zero-share-listed",
        "share-text",
        "share-too-large",
        "long-change",
    ],
)
def test_wrongly_shaped_tariffs_do_not_conform(change: Any) -> None:
    vector = next(v for v in load("allowlist_bundle")["vectors"] if v["id"] == "valid")
    claims = cbor2.loads(_payload(_cose("allowlist_bundle", vector)))
    schema = _schema(RULE["allowlist_bundle"])
    schema.validate_cbor(cbor2.dumps(claims, canonical=True))  # the unchanged claims conform
    change(claims[-43])
    with pytest.raises(pycddl.ValidationError):
        schema.validate_cbor(cbor2.dumps(claims, canonical=True))

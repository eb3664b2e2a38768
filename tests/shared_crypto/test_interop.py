"""Cross-check against independent COSE implementations: pycose and cwt sign what we verify, and verify what we sign."""

from __future__ import annotations

import time
from typing import Any

import cbor2
import cwt
import pytest
from cwt.cose_key_interface import COSEKeyInterface
from pycose.algorithms import EdDSA
from pycose.headers import KID, Algorithm
from pycose.keys.curves import Ed25519
from pycose.keys.okp import OKPKey
from pycose.messages.sign1message import Sign1Message

from shared_crypto import (
    Bundle,
    Calendar,
    MealBatch,
    Reason,
    VerificationError,
    issue_token,
    sign_batch,
    sign_bundle,
    verify_token,
)
from shared_crypto.cose import COSE_SIGN1_TAG

from .helpers import DEVICE, ISSUER, NOW, SCHOOL, SIGNER, key, store, token


def _claims_payload(nbf: int, exp: int) -> bytes:
    return cbor2.dumps({4: exp, 5: nbf, -1: 1_234_567, -2: SCHOOL, -3: 3, -4: 1}, canonical=True)


def _pycose_sign(payload: bytes, *, tag: bool = True, signer_seed: bytes | None = None) -> bytes:
    msg = Sign1Message(phdr={Algorithm: EdDSA, KID: ISSUER.kid}, payload=payload)
    msg.key = OKPKey(crv=Ed25519, d=signer_seed or ISSUER.seed(), x=ISSUER.public.raw)
    encoded: bytes = msg.encode(tag=tag)
    return encoded


def _pycose_verify(data: bytes, public: bytes) -> tuple[dict[Any, Any], bytes | None]:
    msg = Sign1Message.decode(data)
    msg.key = OKPKey(crv=Ed25519, x=public)
    assert msg.verify_signature()
    return msg.phdr, msg.payload


def test_pycose_verifies_our_token() -> None:
    data = issue_token(ISSUER, token())
    phdr, payload = _pycose_verify(data, ISSUER.public.raw)
    assert phdr[Algorithm] is EdDSA
    assert phdr[KID] == ISSUER.kid
    assert payload is not None and cbor2.loads(payload)[-1] == 1_234_567


def test_pycose_verifies_our_bundle_and_batch() -> None:
    bundle = sign_bundle(SIGNER, Bundle(SCHOOL, 1, NOW, NOW + 1, (), Calendar(300, ()), frozenset()))
    _pycose_verify(bundle, SIGNER.public.raw)
    _pycose_verify(sign_batch(DEVICE, MealBatch(77, NOW, ())), DEVICE.public.raw)


def test_pycose_rejects_our_token_with_a_flipped_bit() -> None:
    data = bytearray(issue_token(ISSUER, token()))
    data[-1] ^= 1
    msg = Sign1Message.decode(bytes(data))
    msg.key = OKPKey(crv=Ed25519, x=ISSUER.public.raw)
    assert not msg.verify_signature()


def test_we_verify_a_pycose_token_tagged() -> None:
    data = _pycose_sign(_claims_payload(NOW - 60, NOW + 300))
    assert data[0] == 0xC0 | COSE_SIGN1_TAG
    tok = verify_token(data, store(), now=NOW, leeway=0, school_id=SCHOOL)
    assert (tok.voucher_id, tok.serial, tok.exp) == (1_234_567, 3, NOW + 300)


def test_we_verify_a_pycose_token_untagged() -> None:
    data = _pycose_sign(_claims_payload(NOW - 60, NOW + 300), tag=False)
    assert data[0] == 0x84
    assert verify_token(data, store(), now=NOW, leeway=0).school_id == SCHOOL


def test_we_reject_a_pycose_token_signed_by_another_key_under_our_kid() -> None:
    data = _pycose_sign(_claims_payload(NOW - 60, NOW + 300), signer_seed=key("impostor").seed())
    with pytest.raises(VerificationError) as exc:
        verify_token(data, store(), now=NOW, leeway=0)
    assert exc.value.reason is Reason.BAD_SIGNATURE


def test_we_emit_tagged() -> None:
    data = issue_token(ISSUER, token())
    obj = cbor2.loads(data)
    assert isinstance(obj, cbor2.CBORTag) and obj.tag == COSE_SIGN1_TAG


def _cwt_key(private: bool) -> COSEKeyInterface:
    params = {1: 1, 2: ISSUER.kid, 3: -8, -1: 6, -2: ISSUER.public.raw}
    if private:
        params[-4] = ISSUER.seed()
    return cwt.COSEKey.new(params)


def test_cwt_decodes_our_token() -> None:
    now = int(time.time())  # cwt checks exp and nbf against the real clock
    data = issue_token(ISSUER, token(nbf=now - 60, exp=now + 300))
    claims = cwt.decode(data, _cwt_key(private=False))
    assert claims[-2] == SCHOOL and claims[4] == now + 300


def test_cwt_rejects_our_token_with_a_flipped_bit() -> None:
    now = int(time.time())
    data = bytearray(issue_token(ISSUER, token(nbf=now - 60, exp=now + 300)))
    data[-1] ^= 1
    with pytest.raises(cwt.VerifyError):
        cwt.decode(bytes(data), _cwt_key(private=False))


def test_we_verify_a_cwt_library_cose_sign1() -> None:
    ctx = cwt.COSE.new()
    data = ctx.encode(
        _claims_payload(NOW - 60, NOW + 300), _cwt_key(private=True), protected={1: -8, 4: ISSUER.kid}
    )
    assert verify_token(data, store(), now=NOW, leeway=0).serial == 3


def test_cwt_style_kid_in_unprotected_header_is_rejected() -> None:
    """The cwt library's default puts kid in the unprotected header; our profile wants it protected."""
    ctx = cwt.COSE.new()
    data = ctx.encode(
        _claims_payload(NOW - 60, NOW + 300),
        _cwt_key(private=True),
        protected={1: -8},
        unprotected={4: ISSUER.kid},
    )
    with pytest.raises(VerificationError) as exc:
        verify_token(data, store(), now=NOW, leeway=0)
    assert exc.value.reason is Reason.MALFORMED

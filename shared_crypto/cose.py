"""COSE_Sign1 (RFC 9052) with EdDSA only: sign, and strictly decode and verify."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import cbor2

from .cbor import dumps, loads_strict
from .errors import Reason, VerificationError
from .keys import KID_LEN, KeyRole, SigningKey, VerifyKey

COSE_SIGN1_TAG = 18
ALG_EDDSA = -8
H_ALG = 1
H_CRIT = 2
H_KID = 4
SIGNATURE_LEN = 64
_PROTECTED_CAP = 64
_LABEL_TYPES = (int, str)
_PROTECTED_AS_EMITTED = bytes.fromhex("a201270448")  # {1: -8, 4: h'…'} up to the kid's 8 bytes


class KeyLookup(Protocol):
    """Finds the key for a kid, checking that it may sign `role` objects at `now` (None: no time check)."""

    def lookup(self, kid: bytes, role: KeyRole, now: int | None, leeway: int) -> VerifyKey: ...


_SIG1_HEAD = b"\x84\x6aSignature1"  # array of 4, then text "Signature1": the fixed start of Sig_structure


def _bstr(data: bytes) -> bytes:
    """A byte string in deterministic CBOR (shortest length head)."""
    n = len(data)
    if n < 24:
        return bytes([0x40 | n]) + data
    width = 1 if n < 0x100 else 2 if n < 0x1_0000 else 4 if n < 0x1_0000_0000 else 8
    return bytes([0x58 + width.bit_length() - 1]) + n.to_bytes(width, "big") + data


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    """["Signature1", protected, h'', payload], built by concatenation: on every verify, so kept cheap."""
    return _SIG1_HEAD + _bstr(protected) + b"\x40" + _bstr(payload)


_SIGN1_TAGGED = bytes([0xC0 | COSE_SIGN1_TAG, 0x84])  # tag 18, then an array of four
_SIG_HEAD = b"\x58\x40"  # a 64-byte string's head: every Ed25519 signature


@functools.lru_cache(maxsize=64)
def _protected(kid: bytes) -> bytes:
    return dumps({H_ALG: ALG_EDDSA, H_KID: kid})


def sign1(payload: bytes, key: SigningKey) -> bytes:
    """Tagged COSE_Sign1 with alg and kid in the protected header and an empty unprotected header."""
    return sign1_many((payload,), key)[0]


def sign1_many(payloads: Iterable[bytes], key: SigningKey) -> list[bytes]:
    """`sign1` of each payload. Built by concatenation, in the deterministic encoding cbor2 gives (tests
    compare): a pass signs dozens of tokens per request, and everything but the payload and signature is
    the same for all of them, so it is framed once."""
    protected = _bstr(_protected(key.kid))
    to_sign, head, sign = _SIG1_HEAD + protected + b"\x40", _SIGN1_TAGGED + protected + b"\xa0", key.sign
    out = []
    for payload in payloads:
        p = _bstr(payload)
        out.append(head + p + _SIG_HEAD + sign(to_sign + p))
    return out


@dataclass(frozen=True, slots=True)
class Sign1:
    """A structurally valid, not yet verified COSE_Sign1."""

    protected: bytes
    kid: bytes
    payload: bytes
    signature: bytes

    def verify_with(self, key: VerifyKey) -> bytes:
        if not key.verify(self.signature, _sig_structure(self.protected, self.payload)):
            raise VerificationError(Reason.BAD_SIGNATURE)
        return self.payload


def decode_sign1(data: bytes, max_size: int) -> Sign1:
    obj = loads_strict(data, max_size, "COSE_Sign1")
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != COSE_SIGN1_TAG:
            raise VerificationError(Reason.MALFORMED, f"CBOR tag {obj.tag}, expected 18 (COSE_Sign1)")
        obj = obj.value
    if not (isinstance(obj, list) and len(obj) == 4):
        raise VerificationError(Reason.MALFORMED, "COSE_Sign1 is an array of four")
    protected, unprotected, payload, signature = obj
    if not isinstance(protected, bytes) or not isinstance(unprotected, dict):
        raise VerificationError(Reason.MALFORMED, "COSE_Sign1 headers have the wrong types")
    if not isinstance(payload, bytes):
        raise VerificationError(Reason.MALFORMED, "payload must be an attached byte string")
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_LEN:
        raise VerificationError(Reason.MALFORMED, "an Ed25519 signature is 64 bytes")
    header: Any
    if len(protected) == len(_PROTECTED_AS_EMITTED) + KID_LEN and protected.startswith(_PROTECTED_AS_EMITTED):
        header = {
            H_ALG: ALG_EDDSA,
            H_KID: protected[-KID_LEN:],
        }  # what sign1 writes: skip the CBOR round trip
    else:
        header = loads_strict(protected, _PROTECTED_CAP, "protected header") if protected else {}
    if not isinstance(header, dict):
        raise VerificationError(Reason.MALFORMED, "protected header is not a map")
    if any(type(k) not in _LABEL_TYPES for m in (header, unprotected) for k in m):
        # 1.0 or True would otherwise be found under label 1 (equal hashes)
        raise VerificationError(Reason.MALFORMED, "header labels are integers or text (RFC 9052)")
    if H_CRIT in header or H_CRIT in unprotected:
        raise VerificationError(Reason.MALFORMED, "critical header parameters are not supported")
    alg = header.get(H_ALG)
    if alg != ALG_EDDSA or type(alg) is not int:
        raise VerificationError(
            Reason.UNSUPPORTED_ALG, f"alg {alg!r}; only EdDSA (-8) in the protected header"
        )
    kid = header.get(H_KID)
    if not isinstance(kid, bytes) or len(kid) != KID_LEN:
        raise VerificationError(Reason.MALFORMED, "protected header needs an 8-byte kid")
    for label, value in ((H_ALG, alg), (H_KID, kid)):
        if label in unprotected and (
            unprotected[label] != value or type(unprotected[label]) is not type(value)
        ):
            raise VerificationError(
                Reason.HEADER_CONFLICT, f"unprotected header {label} contradicts protected"
            )
    return Sign1(protected=protected, kid=kid, payload=payload, signature=signature)


def verify_sign1(
    data: bytes, keys: KeyLookup, role: KeyRole, *, now: int | None, leeway: int, max_size: int
) -> tuple[bytes, bytes]:
    """Return (kid, payload) of a valid COSE_Sign1 signed by a key of `role`; raise VerificationError."""
    msg = decode_sign1(data, max_size)
    key = keys.lookup(msg.kid, role, now, leeway)
    return msg.kid, msg.verify_with(key)

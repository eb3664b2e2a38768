"""Meal voucher token, the dynamic QR the parent sends to the child.

Kept small on purpose (≤ 116 bytes, so `SW1:` + base45 fits a version-7-M QR in alphanumeric mode):
no iss (the kid names the issuer), no cti (a token is named by voucher id and serial), integer times.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass

from . import claims as c
from .cose import KeyLookup, sign1_many, verify_sign1
from .errors import EncodingError, Reason, VerificationError
from .keys import KeyRole, SigningKey
from .qr import from_qr_text, to_qr_text

MAX_TOKEN = 256
MAX_TOKEN_BYTES_TARGET = 116
C_VOUCHER = -1
C_SCHOOL = -2
C_SERIAL = -3
C_PLAN = -4
_CLAIMS = frozenset({c.EXP, c.NBF, C_VOUCHER, C_SCHOOL, C_SERIAL, C_PLAN})


@dataclass(frozen=True, slots=True)
class VoucherToken:
    voucher_id: int
    school_id: int
    serial: int
    plan: int
    nbf: int
    exp: int

    @property
    def token_id(self) -> tuple[int, int]:
        """What revocation lists name: (voucher id, serial)."""
        return (self.voucher_id, self.serial)


def issue_token(key: SigningKey, token: VoucherToken) -> bytes:
    (data,) = issue_tokens(
        key, token.voucher_id, token.school_id, token.serial, token.plan, [(token.nbf, token.exp)]
    )
    return data


def issue_tokens(
    key: SigningKey,
    voucher_id: int,
    school_id: int,
    serial: int,
    plan: int,
    windows: Iterable[tuple[int, int]],
) -> list[bytes]:
    """One token per (nbf, exp) window of one voucher and serial (a pass signs a day's windows at once).
    The claims are written as the deterministic CBOR map `dumps` gives (tests compare): the keys in that
    order (4, 5, -1 … -4: one byte each, sorted by value) and each value as its shortest unsigned
    integer; only nbf and exp change from one window to the next."""
    for name, value in (("voucher_id", voucher_id), ("school_id", school_id)):
        if not 0 <= value <= c.UINT32_MAX:
            raise EncodingError(f"{name} must fit 32 bits")
    if not 0 <= serial <= 0xFFFF or not 0 <= plan <= 23:
        raise EncodingError("serial must fit 16 bits and plan be 0..23")
    tail = (
        b"\x20"
        + _uint(voucher_id)
        + b"\x21"
        + _uint(school_id)
        + b"\x22"
        + _uint(serial)
        + b"\x23"
        + _uint(plan)
    )
    payloads = []
    for nbf, exp in windows:
        if not (0 <= nbf <= c.UINT32_MAX and 0 <= exp <= c.UINT32_MAX):
            raise EncodingError("nbf and exp must fit 32 bits")
        if exp <= nbf:
            raise EncodingError("exp must be after nbf")
        payloads.append(b"\xa6\x04" + _uint(exp) + b"\x05" + _uint(nbf) + tail)
    return sign1_many(payloads, key)


def _uint(n: int) -> bytes:
    """CBOR major type 0 in its shortest form, for 0 <= n < 2**32."""
    if n < 24:
        return bytes((n,))
    if n < 0x100:
        return bytes((0x18, n))
    if n < 0x1_0000:
        return b"\x19" + n.to_bytes(2, "big")
    return b"\x1a" + n.to_bytes(4, "big")


def issue_qr_text(key: SigningKey, token: VoucherToken) -> str:
    return to_qr_text(issue_token(key, token))


def verify_token(
    data: bytes, keys: KeyLookup, *, now: int, leeway: int, school_id: int | None = None
) -> VoucherToken:
    """Signature, claims and validity window; with `school_id`, also that the token is for that school."""
    _, payload = verify_sign1(data, keys, KeyRole.VOUCHER_ISSUER, now=now, leeway=leeway, max_size=MAX_TOKEN)
    cl = c.decode_claims(payload, _CLAIMS, _CLAIMS, MAX_TOKEN)
    token = VoucherToken(
        voucher_id=c.uint(cl[C_VOUCHER], "voucher id", c.UINT32_MAX),
        school_id=c.uint(cl[C_SCHOOL], "school id", c.UINT32_MAX),
        serial=c.uint(cl[C_SERIAL], "serial", 0xFFFF),
        plan=c.uint(cl[C_PLAN], "plan", 23),
        nbf=c.uint(cl[c.NBF], "nbf", c.UINT32_MAX),
        exp=c.uint(cl[c.EXP], "exp", c.UINT32_MAX),
    )
    if token.exp <= token.nbf:  # never issued (issue_token refuses it); a leeway would make it valid
        raise VerificationError(Reason.MALFORMED, "exp must be after nbf")
    c.check_window(
        token.nbf,
        token.exp,
        now,
        leeway,
        what=f"voucher token of voucher {token.voucher_id} (serial {token.serial})",
    )
    if school_id is not None and token.school_id != school_id:
        raise VerificationError(
            Reason.WRONG_SCHOOL, f"token for school {token.school_id}, this is {school_id}"
        )
    return token


def verify_qr_text(
    text: str, keys: KeyLookup, *, now: int, leeway: int, school_id: int | None = None
) -> VoucherToken:
    return verify_token(from_qr_text(text), keys, now=now, leeway=leeway, school_id=school_id)


def check_standing(token: VoucherToken, min_serial: int, revoked: Container[tuple[int, int]]) -> None:
    """Against the allowlist: a newer serial supersedes older tokens; a listed token id is revoked."""
    if token.serial < min_serial:
        raise VerificationError(Reason.SUPERSEDED, f"serial {token.serial} < minimum {min_serial}")
    if token.token_id in revoked:
        raise VerificationError(Reason.REVOKED, f"token {token.voucher_id}/{token.serial} is revoked")

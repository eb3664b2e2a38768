"""Voucher token and QR text: size budget, QR version, encoding limits, standing against the allowlist."""

from __future__ import annotations

import base45
import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_crypto import (
    EncodingError,
    Reason,
    VerificationError,
    check_standing,
    from_qr_text,
    issue_qr_text,
    issue_token,
    issue_tokens,
    sign1,
    to_qr_text,
    verify_qr_text,
)
from shared_crypto.cbor import dumps
from shared_crypto.qr import MAX_QR_TEXT, b45decode, b45encode

from .helpers import ISSUER, NOW, SCHOOL, store, token

LARGEST = token(
    voucher_id=0xFFFF_FFFF, school_id=0xFFFF_FFFF, serial=0xFFFF, plan=23, nbf=0xFFFF_FFFE, exp=0xFFFF_FFFF
)


@pytest.mark.parametrize(
    "t", [token(), LARGEST, token(voucher_id=0, school_id=0, serial=0, plan=0, nbf=0, exp=1)]
)
def test_token_is_at_most_120_bytes(t: object) -> None:
    assert len(issue_token(ISSUER, t)) <= 120  # type: ignore[arg-type]


_UINT32 = st.integers(0, 0xFFFF_FFFF)


@settings(max_examples=300, deadline=None)
@given(
    _UINT32,
    _UINT32,
    st.integers(0, 0xFFFF),
    st.integers(0, 23),
    st.lists(st.tuples(_UINT32, _UINT32), max_size=4),
)
def test_tokens_are_the_deterministic_cbor_cose_of_their_claims(
    voucher: int, school: int, serial: int, plan: int, windows: list[tuple[int, int]]
) -> None:
    windows = [(min(a, b), max(a, b) + 1) for a, b in windows if max(a, b) < 0xFFFF_FFFF]
    claims = {-1: voucher, -2: school, -3: serial, -4: plan}
    expected = [sign1(dumps({4: exp, 5: nbf, **claims}), ISSUER) for nbf, exp in windows]
    assert issue_tokens(ISSUER, voucher, school, serial, plan, windows) == expected


def test_largest_token_fits_qr_version_7_at_level_m_in_alphanumeric_mode() -> None:
    text = issue_qr_text(ISSUER, LARGEST)
    qr = segno.make_qr(text, error="m", boost_error=False)
    assert qr.mode == "alphanumeric"
    assert isinstance(qr.version, int) and qr.version <= 7
    assert qr.error == "M"


def test_qr_text_round_trip() -> None:
    text = issue_qr_text(ISSUER, token())
    assert text.startswith("SW1:") and set(text[4:]) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    assert verify_qr_text(text, store(), now=NOW, leeway=0, school_id=SCHOOL) == token()
    assert to_qr_text(from_qr_text(text)) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", Reason.MALFORMED),
        ("sw1:000", Reason.MALFORMED),
        ("SW1:a", Reason.MALFORMED),
        ("SW1:GGW", Reason.MALFORMED),  # 65535 + … overflows a base45 pair
        ("SW1:0", Reason.MALFORMED),  # a lone character is not base45
        ("SW1:" + "0" * (MAX_QR_TEXT - 3), Reason.TOO_LARGE),
        ("SW1:Ж", Reason.MALFORMED),
        ("SW1:000\n", Reason.MALFORMED),  # strict: no trailing newline
    ],
)
def test_qr_text_rejections(text: str, reason: Reason) -> None:
    with pytest.raises(VerificationError) as exc:
        from_qr_text(text)
    assert exc.value.reason is reason


@pytest.mark.parametrize(
    "changes",
    [{"voucher_id": 1 << 32}, {"serial": 0x10000}, {"plan": 24}, {"exp": NOW - 60}, {"school_id": -1}],
    ids=repr,
)
def test_unencodable_tokens_raise_encoding_error(changes: dict[str, int]) -> None:
    with pytest.raises(EncodingError):
        issue_token(ISSUER, token(**changes))


def test_standing() -> None:
    t = token(serial=5)
    check_standing(t, 5, set())
    check_standing(t, 0, {(t.voucher_id, 4)})
    with pytest.raises(VerificationError) as exc:
        check_standing(t, 6, set())
    assert exc.value.reason is Reason.SUPERSEDED
    with pytest.raises(VerificationError) as exc:
        check_standing(t, 0, {(t.voucher_id, 5)})
    assert exc.value.reason is Reason.REVOKED
    assert t.token_id == (t.voucher_id, 5)


_B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=130))
def test_base45_decoder_matches_the_package_on_valid_text(data: bytes) -> None:
    text = base45.b45encode(data).decode()
    assert b45decode(text) == data == base45.b45decode(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=130))
def test_base45_encoder_matches_the_package(data: bytes) -> None:
    assert b45encode(data) == base45.b45encode(data).decode()


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=_B45 + "a\x00é\n", max_size=12))
def test_base45_decoder_refuses_what_the_package_refuses(text: str) -> None:
    """Same verdict as the package, except that we also refuse the trailing newline it drops."""
    try:
        expected: bytes | None = base45.b45decode(text)
    except ValueError:
        expected = None
    try:
        got: bytes | None = b45decode(text)
    except ValueError:
        got = None
    if text.endswith("\n"):
        assert got is None
    else:
        assert got == expected

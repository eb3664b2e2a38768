"""Device request token and signed time."""

from __future__ import annotations

import pytest

from shared_crypto import (
    DeviceAuth,
    EncodingError,
    Reason,
    VerificationError,
    sign_device_auth,
    sign_time,
    verify_device_auth,
    verify_time,
)

from .helpers import DEVICE, ISSUER, NOW, SIGNER, store

REQ = "GET /api/terminal/v1/allowlist"
AUTH = DeviceAuth(terminal_id=77, request=REQ, issued_at=NOW)
NONCE = b"\x07" * 16


def test_header_is_unpadded_base64url_and_round_trips() -> None:
    header = sign_device_auth(DEVICE, AUTH)
    assert "=" not in header and "+" not in header and "/" not in header
    assert verify_device_auth(header, store(), request=REQ, now=NOW + 100, leeway=300) == (DEVICE.kid, AUTH)


@pytest.mark.parametrize(
    ("header", "kw", "reason"),
    [
        (None, {"request": "POST /api/terminal/v1/batches"}, Reason.MALFORMED),
        (None, {"now": NOW - 301}, Reason.NOT_YET_VALID),
        (None, {"now": NOW + 301}, Reason.EXPIRED),
        ("*" * 8, {}, Reason.MALFORMED),
        ("A" * 513, {}, Reason.TOO_LARGE),
        ("", {}, Reason.MALFORMED),
        ("HEADER!", {}, Reason.MALFORMED),  # a character outside base64url appended to a good header
        ("HEADER=", {}, Reason.MALFORMED),  # padding
        ("HEADER+/", {}, Reason.MALFORMED),  # the standard alphabet's characters
    ],
)
def test_rejections(header: str | None, kw: dict[str, object], reason: Reason) -> None:
    args: dict[str, object] = {"request": REQ, "now": NOW, "leeway": 300, **kw}
    if header is not None and header.startswith("HEADER"):
        header = sign_device_auth(DEVICE, AUTH) + header.removeprefix("HEADER")
    with pytest.raises(VerificationError) as exc:
        verify_device_auth(sign_device_auth(DEVICE, AUTH) if header is None else header, store(), **args)  # type: ignore[arg-type]
    assert exc.value.reason is reason


def test_request_line_cap() -> None:
    with pytest.raises(EncodingError):
        sign_device_auth(DEVICE, DeviceAuth(1, "GET /" + "x" * 200, NOW))


def test_signed_time_round_trip() -> None:
    assert verify_time(sign_time(SIGNER, now=NOW, nonce=NONCE), store(), nonce=NONCE, leeway=0) == NOW


def test_signed_time_for_another_nonce_or_by_a_voucher_key_is_refused() -> None:
    with pytest.raises(VerificationError) as exc:
        verify_time(sign_time(SIGNER, now=NOW, nonce=NONCE), store(), nonce=b"\x08" * 16, leeway=0)
    assert exc.value.reason is Reason.MALFORMED
    with pytest.raises(VerificationError) as exc:
        verify_time(sign_time(ISSUER, now=NOW, nonce=NONCE), store(), nonce=NONCE, leeway=0)
    assert exc.value.reason is Reason.WRONG_KEY_ROLE
    with pytest.raises(EncodingError):
        sign_time(SIGNER, now=NOW, nonce=b"short")

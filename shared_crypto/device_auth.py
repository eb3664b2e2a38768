"""Terminal request authentication and signed server time.

Device request token: a terminal proves who it is on every back-end request with a short-lived
COSE_Sign1 over (terminal id, method, path, iat), signed by its own device key and sent in the
`X-SW-Device-Auth` header as base64url. The back end checks it against the key it enrolled; a token
is good for one method and path, within a window the server sets.

Signed time: a Pi without an RTC boots with no idea of the date. The terminal sends a fresh nonce,
and the back end answers with its time and that nonce, signed by an allowlist-signer key the terminal
already trusts; the nonce stops an attacker replaying an old answer to turn the clock back.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from . import claims as c
from .cbor import dumps
from .cose import KeyLookup, sign1, verify_sign1
from .errors import EncodingError, Reason, VerificationError
from .keys import KeyRole, SigningKey

HEADER = "X-SW-Device-Auth"
MAX_AUTH = 512
MAX_REQUEST_LINE = 200
C_TERMINAL = -90
C_REQUEST = -91
_AUTH_CLAIMS = frozenset({c.IAT, C_TERMINAL, C_REQUEST})
NONCE_LEN = 16
MAX_TIME = 256
C_NONCE = -95
_TIME_CLAIMS = frozenset({c.IAT, C_NONCE})


@dataclass(frozen=True, slots=True)
class DeviceAuth:
    terminal_id: int
    request: str  # "GET /api/terminal/v1/allowlist"
    issued_at: int


def sign_device_auth(key: SigningKey, auth: DeviceAuth) -> str:
    if len(auth.request) > MAX_REQUEST_LINE:
        raise EncodingError("request line too long")
    payload = dumps({c.IAT: auth.issued_at, C_TERMINAL: auth.terminal_id, C_REQUEST: auth.request})
    return base64.urlsafe_b64encode(sign1(payload, key)).rstrip(b"=").decode("ascii")


def verify_device_auth(
    header: str, keys: KeyLookup, *, request: str, now: int, leeway: int
) -> tuple[bytes, DeviceAuth]:
    """Return (device kid, auth) for a header valid for `request` within ±`leeway` seconds of `now`."""
    if len(header) > MAX_AUTH:
        raise VerificationError(Reason.TOO_LARGE, "auth header too long")
    try:
        data = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        # The decoder skips characters outside the alphabet and ignores stray bits: demand the canonical text.
        canonical = base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") == header
    except (binascii.Error, ValueError):
        canonical = False
    if not canonical:
        raise VerificationError(Reason.MALFORMED, "auth header is not unpadded base64url")
    kid, payload = verify_sign1(data, keys, KeyRole.DEVICE, now=now, leeway=leeway, max_size=MAX_AUTH)
    cl = c.decode_claims(payload, _AUTH_CLAIMS, _AUTH_CLAIMS, MAX_AUTH)
    auth = DeviceAuth(
        terminal_id=c.uint(cl[C_TERMINAL], "terminal id", c.UINT32_MAX),
        request=c.tstr(cl[C_REQUEST], "request", MAX_REQUEST_LINE),
        issued_at=c.uint(cl[c.IAT], "iat"),
    )
    if auth.request != request:
        raise VerificationError(Reason.MALFORMED, "auth token made for another request")
    c.check_window(auth.issued_at, auth.issued_at + 1, now, leeway, what="device auth token")
    return kid, auth


def sign_time(key: SigningKey, *, now: int, nonce: bytes) -> bytes:
    if len(nonce) != NONCE_LEN:
        raise EncodingError("nonce is 16 bytes")
    return sign1(dumps({c.IAT: now, C_NONCE: nonce}), key)


def verify_time(data: bytes, keys: KeyLookup, *, nonce: bytes, leeway: int) -> int:
    """Return the server's unix time from a signed answer to our `nonce`."""
    _, payload = verify_sign1(
        data, keys, KeyRole.ALLOWLIST_SIGNER, now=None, leeway=leeway, max_size=MAX_TIME
    )
    cl = c.decode_claims(payload, _TIME_CLAIMS, _TIME_CLAIMS, MAX_TIME)
    if c.bstr(cl[C_NONCE], "nonce", NONCE_LEN, NONCE_LEN) != nonce:
        raise VerificationError(Reason.MALFORMED, "time answer is for another nonce")
    return c.uint(cl[c.IAT], "iat", c.UINT32_MAX)

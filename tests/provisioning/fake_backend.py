"""An in-process back end for the enrolment and card endpoints, served through httpx.MockTransport."""

from __future__ import annotations

import json
import time

import httpx

from shared_crypto import (
    Bundle,
    Calendar,
    CardCredential,
    Entry,
    EntryStatus,
    KeyRole,
    MealSlot,
    Reason,
    SigningKey,
    TrustedKey,
    TrustList,
    VerificationError,
    issue_card_credential,
    sign_bundle,
    sign_trust_list,
    uid_hash,
    verify_device_auth,
)
from shared_crypto.keys import VerifyKey

SCHOOL, CANTEEN, TERMINAL = 41, 7, 1234
ADMIN_TOKEN = "admin-session-token"
# The school's pupils as the allowlist names them: voucher id, pseudonym, display string.
ENTRIES = (
    Entry(501, b"\x11" * 16, (), 1, EntryStatus.ACTIVE, 0, "А. Б., 5Б"),
    Entry(502, b"\x22" * 16, (), 1, EntryStatus.ACTIVE, 0, "А. Б., 7А"),
    Entry(503, b"\x33" * 16, (), 2, EntryStatus.SUSPENDED, 0, "Е. Ж., 5Б"),
)
UNKNOWN_PSEUDONYM = b"\x99" * 16  # in no allowlist: what a pupil removed from the back end looks like


class DeviceKeys:
    def __init__(self) -> None:
        self.keys: dict[bytes, VerifyKey] = {}

    def lookup(self, kid: bytes, role: KeyRole, now: int | None, leeway: int) -> VerifyKey:
        if role is not KeyRole.DEVICE or kid not in self.keys:
            raise VerificationError(Reason.UNKNOWN_KID, kid.hex())
        return self.keys[kid]


class FakeBackend:
    def __init__(self, now: float | None = None) -> None:
        self.now = int(now if now is not None else time.time())
        self.root = SigningKey.generate()
        self.allowlist_signer = SigningKey.generate()
        self.card_issuer = SigningKey.generate()
        self.codes = {"ABCD-1234"}
        self.devices = DeviceKeys()
        self.pseudonyms = {e.pseudonym for e in ENTRIES}
        self.registered: list[tuple[bytes, bytes]] = []  # (pseudonym, uid)
        self.requests: list[httpx.Request] = []
        self.trust_list_override: bytes | None = None
        keys = (
            TrustedKey(
                self.allowlist_signer.public,
                KeyRole.ALLOWLIST_SIGNER,
                self.now - 86400,
                self.now + 86400 * 365,
            ),
            TrustedKey(
                self.card_issuer.public, KeyRole.CARD_ISSUER, self.now - 86400, self.now + 86400 * 365
            ),
        )
        self.trust_list = sign_trust_list(self.root, TrustList(3, self.now, self.now + 86400 * 30, keys))
        cal = Calendar(utc_offset_minutes=300, slots=(MealSlot(1, 9 * 60, 11 * 60),))
        self.bundle = sign_bundle(
            self.allowlist_signer,
            Bundle(SCHOOL, 17, self.now, self.now + 86400 * 2, ENTRIES, cal, frozenset()),
        )

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url="https://sw.test", transport=self.transport())

    def _error(self, status: int, reason: str) -> httpx.Response:
        return httpx.Response(status, json={"reason": reason, "detail": reason.lower()})

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/api/terminal/v1/enrol" and request.method == "POST":
            body = json.loads(request.content)
            if body["code"] not in self.codes:
                return self._error(409, "CODE_USED")
            self.codes.discard(body["code"])
            pub = VerifyKey(bytes.fromhex(body["public_key"]))
            self.devices.keys[pub.kid] = pub
            return httpx.Response(
                200,
                json={
                    "terminal_id": TERMINAL,
                    "school_id": SCHOOL,
                    "canteen_id": CANTEEN,
                    "root_public_key": self.root.public.raw.hex(),
                },
            )
        if path in ("/api/terminal/v1/trust-list", "/api/terminal/v1/allowlist"):
            try:
                verify_device_auth(
                    request.headers.get("X-SW-Device-Auth", ""),
                    self.devices,
                    request=f"GET {path}",
                    now=self.now,
                    leeway=300,
                )
            except VerificationError as e:
                return httpx.Response(401, json={"reason": e.reason.value, "server_time": self.now})
            data = (
                self.bundle if path.endswith("allowlist") else (self.trust_list_override or self.trust_list)
            )
            return httpx.Response(200, content=data, headers={"Content-Type": "application/cose"})
        if path.startswith("/api/admin/v1/cards/"):
            if request.headers.get("Authorization") != f"Bearer {ADMIN_TOKEN}":
                return self._error(401, "NOT_SIGNED_IN")
            body = json.loads(request.content)
            pseudonym, uid = bytes.fromhex(body["pseudonym"]), bytes.fromhex(body["uid"])
            if pseudonym not in self.pseudonyms:
                return self._error(404, "NO_SUCH_PUPIL")
            if path.endswith("/credential"):
                cred = CardCredential(SCHOOL, uid, pseudonym, self.now)
                return httpx.Response(
                    200,
                    content=issue_card_credential(self.card_issuer, cred),
                    headers={"Content-Type": "application/cose"},
                )
            if path.endswith("/register"):
                if any(uid == known for _, known in self.registered):
                    return self._error(409, "CARD_ALREADY_REGISTERED")
                self.registered.append((pseudonym, uid))
                return httpx.Response(200, json={"uid_hash": uid_hash(uid).hex()})
        return self._error(404, "NOT_FOUND")

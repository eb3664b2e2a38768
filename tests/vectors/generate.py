"""Write tests/vectors/*.json: valid vectors and one invalid vector per reason code, for every object type.

Deterministic: keys come from fixed seeds, times are fixed and Ed25519 signatures are deterministic, so
running `python -m tests.vectors.generate` twice gives byte-identical files. Defective objects are built
here by hand (raw CBOR heads, re-signed where the defect must lie behind a good signature), not through
the library's own encoder, so each vector tests one rule of the verifier. Every vector is checked
against shared_crypto before it is written; a disagreement stops the script.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cbor2

from shared_crypto import (
    Bundle,
    Calendar,
    CardCredential,
    DeviceAuth,
    Entry,
    EntryStatus,
    KeyRole,
    MealBatch,
    MealEvent,
    MealSlot,
    Method,
    SigningKey,
    TariffChange,
    TrustedKey,
    TrustList,
    VoucherToken,
    issue_card_credential,
    issue_token,
    sign_batch,
    sign_bundle,
    sign_device_auth,
    sign_time,
    sign_trust_list,
    to_qr_text,
    uid_hash,
)
from shared_crypto.allowlist import MAX_BUNDLE
from shared_crypto.card import MAX_CARD_CREDENTIAL
from shared_crypto.device_auth import MAX_AUTH, MAX_TIME
from shared_crypto.meal_batch import MAX_BATCH
from shared_crypto.qr import MAX_QR_TEXT
from shared_crypto.trust import MAX_TRUST_LIST
from shared_crypto.voucher_token import MAX_TOKEN

from . import OBJECTS, VECTOR_DIR, check, to_json

DAY = 86_400
NOW = 1_757_300_000  # 2025-09-08 02:53:20 UTC, a school day
LEEWAY = 30
SCHOOL = 4242
TAG_SIGN1 = 18


def _key(name: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"sw1-test-vectors/" + name.encode()).digest())


KEYS = {
    name: _key(name)
    for name in ("root", "issuer_old", "issuer_new", "signer", "card", "device", "rogue", "rogue_root")
}
ROOT, ISSUER_OLD, ISSUER_NEW = KEYS["root"], KEYS["issuer_old"], KEYS["issuer_new"]
SIGNER, CARD, DEVICE, ROGUE = KEYS["signer"], KEYS["card"], KEYS["device"], KEYS["rogue"]
ISSUER_OLD_EXP = NOW + DAY  # rotation: the old issuer key retires tomorrow, the new one began yesterday

TRUSTED = (
    TrustedKey(ISSUER_OLD.public, KeyRole.VOUCHER_ISSUER, NOW - 90 * DAY, ISSUER_OLD_EXP),
    TrustedKey(ISSUER_NEW.public, KeyRole.VOUCHER_ISSUER, NOW - DAY, NOW + 365 * DAY),
    TrustedKey(SIGNER.public, KeyRole.ALLOWLIST_SIGNER, NOW - 90 * DAY, NOW + 365 * DAY),
    TrustedKey(CARD.public, KeyRole.CARD_ISSUER, NOW - 90 * DAY, NOW + 365 * DAY),
    TrustedKey(DEVICE.public, KeyRole.DEVICE, NOW - 90 * DAY, NOW + 365 * DAY),
)
TRUSTED_JSON = [
    {"public_key": k.key.raw.hex(), "kid": k.kid.hex(), "role": k.role.name, "nbf": k.nbf, "exp": k.exp}
    for k in TRUSTED
]


# ---- raw COSE and CBOR building blocks ----------------------------------------------------------------


def _head(major: int, n: int, *, width: int | None = None) -> bytes:
    """A CBOR head; `width` forces a longer-than-shortest argument (non-canonical on purpose)."""
    if width is None:
        width = 0 if n < 24 else 1 if n < 0x100 else 2 if n < 0x10000 else 4 if n < 0x1_0000_0000 else 8
    if width == 0:
        return bytes([(major << 5) | n])
    info = {1: 24, 2: 25, 4: 26, 8: 27}[width]
    return bytes([(major << 5) | info]) + n.to_bytes(width, "big")


def _enc(value: Any) -> bytes:
    return cbor2.dumps(value, canonical=True)


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return _enc(["Signature1", protected, b"", payload])


def cose(
    payload: bytes,
    key: SigningKey,
    *,
    protected: bytes | None = None,
    unprotected: dict[int, Any] | None = None,
    tagged: bool = True,
) -> bytes:
    """COSE_Sign1 with a correct Ed25519 signature over whatever header and payload bytes are given."""
    if protected is None:
        protected = _enc({1: -8, 4: key.kid})
    signature = key.sign(_sig_structure(protected, payload))
    body = _enc([protected, unprotected or {}, payload, signature])
    return (_head(6, TAG_SIGN1) + body) if tagged else body


def parts(data: bytes) -> tuple[bytes, dict[int, Any], bytes, bytes]:
    obj = cbor2.loads(data)
    protected, unprotected, payload, signature = obj.value if isinstance(obj, cbor2.CBORTag) else obj
    return protected, unprotected, payload, signature


def raw_map(pairs: list[tuple[bytes, bytes]]) -> bytes:
    return _head(5, len(pairs)) + b"".join(k + v for k, v in pairs)


def claim_pairs(payload: bytes) -> list[tuple[bytes, bytes]]:
    """The claims map's (key, value) encodings in their canonical order."""
    return [(_enc(k), _enc(v)) for k, v in cbor2.loads(payload).items()]


def with_claims(payload: bytes, change: Callable[[dict[Any, Any]], None]) -> bytes:
    claims = cbor2.loads(payload)
    change(claims)
    return _enc(claims)


# ---- vectors -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """How one object type is presented and which of the common defects apply to it."""

    name: str
    form: str  # cose, qr_text or header
    cap: int  # size cap of the COSE bytes
    key: SigningKey  # the key that signs valid objects
    wrong_role_key: SigningKey | None  # a trusted key of another role; None where the role is not looked up
    int_claim: int  # a claim holding an unsigned integer, for the non-canonical encoding vector

    def present(self, cose_bytes: bytes) -> bytes:
        if self.form == "qr_text":
            return to_qr_text(cose_bytes).encode("ascii")
        if self.form == "header":
            return base64.urlsafe_b64encode(cose_bytes).rstrip(b"=")
        return cose_bytes


class Book:
    def __init__(self, kind: Kind, base_inputs: dict[str, Any]) -> None:
        self.kind = kind
        self.base_inputs = base_inputs
        self.vectors: list[dict[str, Any]] = []

    def add(
        self,
        vid: str,
        description: str,
        data: bytes,
        expected: dict[str, Any],
        *,
        presented: bool = False,
        pad: int = 0,
        **inputs: Any,
    ) -> None:
        """`data` is COSE bytes unless `presented` (then it is already in the kind's form)."""
        if pad and self.kind.form != "cose":  # padding belongs to the COSE bytes, before presenting
            data, pad = data + bytes(pad), 0
        vector: dict[str, Any] = {
            "id": vid,
            "description": description,
            "inputs": {**self.base_inputs, **inputs},
            "form": self.kind.form,
            "data": (data if presented else self.kind.present(data)).hex(),
        }
        if pad:
            vector["pad_zero_bytes"] = pad
        vector["expected"] = expected
        got = check(self.kind.name, vector)
        if got != expected:
            sys.exit(f"{self.kind.name}/{vid}: expected {expected}, library says {got}")
        self.vectors.append(vector)

    def valid(self, vid: str, description: str, data: bytes, claims: Any, **inputs: Any) -> None:
        self.add(vid, description, data, {"valid": True, "claims": to_json(claims)}, **inputs)

    def invalid(self, vid: str, description: str, data: bytes, reason: str, **kw: Any) -> None:
        self.add(vid, description, data, {"valid": False, "reason": reason}, **kw)


def common_defects(book: Book, good: bytes, claims: Any) -> None:
    """The encoding, header, key and signature defects every signed object must be rejected for."""
    kind = book.kind
    protected, _, payload, signature = parts(good)
    key = kind.key
    tagged_body = good[1:]  # d2 = tag 18, then the four-element array
    assert good[0] == 0xD2 and tagged_body[0] == 0x84
    book.valid("valid-untagged", "untagged COSE_Sign1 is accepted", cose(payload, key, tagged=False), claims)
    m = "MALFORMED"
    indefinite = b"\xd2\x9f" + tagged_body[1:] + b"\xff"
    book.invalid("malformed-indefinite-array", "COSE_Sign1 array of indefinite length", indefinite, m)
    pairs = claim_pairs(payload)
    dup = raw_map([pairs[0], *pairs])
    book.invalid("malformed-duplicate-key", "claims map repeats its first key (re-signed)", cose(dup, key), m)
    book.invalid("malformed-trailing-bytes", "one zero byte after the COSE_Sign1", good + b"\x00", m)
    k_enc = _enc(kind.int_claim)
    value = cbor2.loads(payload)[kind.int_claim]
    noncanon = raw_map([(k, _head(0, value, width=8) if k == k_enc else v) for k, v in pairs])
    book.invalid(
        "malformed-noncanonical-int",
        f"claim {kind.int_claim} in the 8-byte integer form (re-signed)",
        cose(noncanon, key),
        m,
    )
    indefinite_payload = b"\x5f" + _head(2, len(payload)) + payload + b"\xff"
    body = b"\x84" + _enc(protected) + b"\xa0" + indefinite_payload + _enc(signature)
    book.invalid(
        "malformed-indefinite-bstr", "payload as an indefinite-length byte string", b"\xd2" + body, m
    )
    book.invalid("malformed-wrong-tag", "tag 17 (COSE_Mac0) instead of 18", b"\xd1" + tagged_body, m)
    short_sig = _enc(cbor2.CBORTag(TAG_SIGN1, [protected, {}, payload, signature[:63]]))
    book.invalid("malformed-short-signature", "a 63-byte signature", short_sig, m)
    book.invalid(
        "too-large",
        f"padded to {kind.cap + 1} bytes: over the cap",
        good,
        "TOO_LARGE",
        pad=kind.cap + 1 - len(good),
    )
    es256 = _enc({1: -7, 4: key.kid})
    book.invalid(
        "alg-es256",
        "alg -7 (ES256) in the protected header",
        cose(payload, key, protected=es256),
        "UNSUPPORTED_ALG",
    )
    no_alg = _enc({4: key.kid})
    book.invalid(
        "alg-missing",
        "no alg in the protected header",
        cose(payload, key, protected=no_alg),
        "UNSUPPORTED_ALG",
    )
    book.invalid(
        "alg-unprotected-only",
        "alg -8 only in the unprotected header",
        cose(payload, key, protected=no_alg, unprotected={1: -8}),
        "UNSUPPORTED_ALG",
    )
    book.invalid(
        "header-conflict-alg",
        "unprotected alg -7 contradicts protected -8",
        cose(payload, key, unprotected={1: -7}),
        "HEADER_CONFLICT",
    )
    book.invalid(
        "header-conflict-kid",
        "unprotected kid differs from the protected kid",
        cose(payload, key, unprotected={4: ROGUE.kid}),
        "HEADER_CONFLICT",
    )
    book.valid(
        "header-agreeing-unprotected",
        "unprotected alg and kid equal to the protected ones are accepted",
        cose(payload, key, unprotected={1: -8, 4: key.kid}),
        claims,
    )
    float_alg = _enc({1.0: -8, 4: key.kid})
    book.invalid(
        "malformed-float-header-label",
        "protected header label 1.0 instead of 1",
        cose(payload, key, protected=float_alg),
        "MALFORMED",
    )
    book.invalid("unknown-kid", "signed by a key nobody trusts", cose(payload, ROGUE), "UNKNOWN_KID")
    if kind.wrong_role_key is not None:
        book.invalid(
            "wrong-key-role",
            "signed by a trusted key of another role",
            cose(payload, kind.wrong_role_key),
            "WRONG_KEY_ROLE",
        )
    flipped = bytearray(good)
    flipped[-1] ^= 0x01
    book.invalid("bad-signature-bit", "last signature bit flipped", bytes(flipped), "BAD_SIGNATURE")
    other = bytearray(payload)
    other[-1] ^= 0x01
    swapped = _enc(cbor2.CBORTag(TAG_SIGN1, [protected, {}, bytes(other), signature]))
    book.invalid(
        "bad-signature-payload", "payload changed after signing (last byte)", swapped, "BAD_SIGNATURE"
    )


# ---- per object ----------------------------------------------------------------------------------------


TOKEN = VoucherToken(voucher_id=1_234_567, school_id=SCHOOL, serial=3, plan=1, nbf=NOW - 60, exp=NOW + 300)


def voucher_tokens() -> Book:
    kind = Kind("voucher_token", "qr_text", MAX_TOKEN, ISSUER_NEW, SIGNER, 4)
    book = Book(kind, {"trusted_keys": TRUSTED_JSON, "now": NOW, "leeway": LEEWAY, "school_id": SCHOOL})
    good = issue_token(ISSUER_NEW, TOKEN)
    book.valid("valid", "token from the new issuer key, inside its window", good, TOKEN)
    book.valid(
        "valid-old-issuer-overlap",
        "token from the old issuer key during the rotation overlap",
        issue_token(ISSUER_OLD, TOKEN),
        TOKEN,
    )
    book.valid(
        "valid-standing",
        "serial equal to the minimum and another serial revoked",
        good,
        TOKEN,
        min_serial=3,
        revoked=[[TOKEN.voucher_id, 2]],
    )
    book.valid("valid-no-school", "no school given: the school is not checked", good, TOKEN, school_id=None)
    book.valid("valid-leeway-exp", "10 s past exp, within a 30 s leeway", good, TOKEN, now=TOKEN.exp + 10)
    book.valid("valid-leeway-nbf", "10 s before nbf, within a 30 s leeway", good, TOKEN, now=TOKEN.nbf - 10)
    common_defects(book, good, TOKEN)
    qr = to_qr_text(good)
    book.invalid(
        "malformed-prefix",
        "QR text with prefix SW2:",
        ("SW2:" + qr[4:]).encode(),
        "MALFORMED",
        presented=True,
    )
    book.invalid(
        "malformed-base45",
        "a character outside base45",
        (qr[:-1] + "a").encode(),
        "MALFORMED",
        presented=True,
    )
    long_text = ("SW1:" + "0" * (MAX_QR_TEXT - 3)).encode()
    book.invalid(
        "too-large-qr-text",
        f"QR text of {MAX_QR_TEXT + 1} characters",
        long_text,
        "TOO_LARGE",
        presented=True,
    )
    _, _, payload, _ = parts(good)

    def drop(cl: dict[Any, Any]) -> None:
        del cl[-4]

    def extra(cl: dict[Any, Any]) -> None:
        cl[-5] = 0

    def text_school(cl: dict[Any, Any]) -> None:
        cl[-2] = str(SCHOOL)

    def big_serial(cl: dict[Any, Any]) -> None:
        cl[-3] = 0x10000

    def float_key(cl: dict[Any, Any]) -> None:
        cl[4.0] = cl.pop(4)

    def empty_window(cl: dict[Any, Any]) -> None:
        cl[4] = cl[5]

    for vid, desc, change in (
        ("malformed-missing-claim", "plan claim (-4) missing", drop),
        ("malformed-extra-claim", "unknown claim -5 present", extra),
        ("malformed-claim-type", "school id as a text string", text_school),
        ("malformed-claim-range", "serial above 16 bits", big_serial),
        (
            "malformed-float-claim-key",
            "exp under the float key 4.0 (equal to 4 in many languages)",
            float_key,
        ),
        ("malformed-empty-window", "exp equal to nbf: never valid, whatever the leeway", empty_window),
    ):
        book.invalid(vid, desc + " (re-signed)", cose(with_claims(payload, change), ISSUER_NEW), "MALFORMED")
    late = replace(TOKEN, nbf=ISSUER_OLD_EXP + 3600, exp=ISSUER_OLD_EXP + 7200)
    book.invalid(
        "key-not-valid",
        "old issuer key used after its not_after (rotation finished)",
        issue_token(ISSUER_OLD, late),
        "KEY_NOT_VALID",
        now=ISSUER_OLD_EXP + 3700,
    )
    book.invalid("not-yet-valid", "100 s before nbf, leeway 30 s", good, "NOT_YET_VALID", now=TOKEN.nbf - 100)
    book.invalid("expired", "100 s after exp, leeway 30 s", good, "EXPIRED", now=TOKEN.exp + 100)
    book.invalid(
        "expired-boundary", "exactly exp + leeway: exp is exclusive", good, "EXPIRED", now=TOKEN.exp + LEEWAY
    )
    book.invalid(
        "expired-zero-leeway", "1 s after exp with leeway 0", good, "EXPIRED", now=TOKEN.exp + 1, leeway=0
    )
    book.invalid(
        "wrong-school", "token for school 4242 shown at 4243", good, "WRONG_SCHOOL", school_id=SCHOOL + 1
    )
    book.invalid(
        "superseded", "serial 3 below the voucher's minimum 4", good, "SUPERSEDED", min_serial=4, revoked=[]
    )
    book.invalid(
        "revoked",
        "token (voucher, serial 3) on the revocation list",
        good,
        "REVOKED",
        min_serial=0,
        revoked=[[TOKEN.voucher_id, 3]],
    )
    return book


UID = bytes.fromhex("04a1b2c3d4e5f6")
PSEUDONYM = hashlib.sha256(b"pupil-1").digest()[:16]
CRED = CardCredential(school_id=SCHOOL, uid=UID, pseudonym=PSEUDONYM, issued_at=NOW - 30 * DAY)


def card_credentials() -> Book:
    kind = Kind("card_credential", "cose", MAX_CARD_CREDENTIAL, CARD, ISSUER_NEW, 6)
    inputs = {
        "trusted_keys": TRUSTED_JSON,
        "now": NOW,
        "leeway": LEEWAY,
        "school_id": SCHOOL,
        "uid": UID.hex(),
    }
    book = Book(kind, inputs)
    good = issue_card_credential(CARD, CRED)
    book.valid("valid", "credential for this card at this school", good, CRED)
    mifare = replace(CRED, uid=bytes.fromhex("a1b2c3d4"))
    book.valid(
        "valid-4-byte-uid",
        "MIFARE Classic 4-byte UID, no time given (key validity not checked)",
        issue_card_credential(CARD, mifare),
        mifare,
        uid="a1b2c3d4",
        now=None,
    )
    common_defects(book, good, CRED)
    book.invalid(
        "key-not-valid", "card-issuer key past its not_after", good, "KEY_NOT_VALID", now=NOW + 366 * DAY
    )
    book.invalid(
        "card-mismatch", "credential copied onto another card", good, "CARD_MISMATCH", uid="04000000000000"
    )
    book.invalid(
        "wrong-school", "card of school 4242 at school 4243", good, "WRONG_SCHOOL", school_id=SCHOOL + 1
    )
    _, _, payload, _ = parts(good)

    def short_pseudonym(cl: dict[Any, Any]) -> None:
        cl[-22] = PSEUDONYM[:15]

    book.invalid(
        "malformed-pseudonym",
        "15-byte pseudonym (re-signed)",
        cose(with_claims(payload, short_pseudonym), CARD),
        "MALFORMED",
    )
    return book


def _bundle() -> Bundle:
    entries = (
        Entry(1_234_567, PSEUDONYM, (uid_hash(UID),), 1, EntryStatus.ACTIVE, 3, "А. Б., 5Б"),
        Entry(1_234_568, hashlib.sha256(b"pupil-2").digest()[:16], (), 2, EntryStatus.ACTIVE, 0, "Д. Е., 2А"),
        Entry(
            1_234_569, hashlib.sha256(b"pupil-3").digest()[:16], (), 1, EntryStatus.SUSPENDED, 1, "Ж. З., 7В"
        ),
    )
    slots = (MealSlot(1, 9 * 60, 10 * 60), MealSlot(2, 12 * 60, 13 * 60 + 30))
    days = {20250908: (1, 2), 20250909: (1, 2), 20250910: (1,)}
    # tiyn: breakfast 450 ₸ on both plans, lunch 800 ₸; lunch on plan 2 rises to 850 ₸ on 10 September.
    # Plan 2 is discounted: the family pays 180 ₸ of breakfast and 300 ₸ of lunch, either price.
    tariffs = {1: {1: 45_000, 2: 80_000}, 2: {1: 45_000, 2: 80_000}}
    shares = {2: {1: 18_000, 2: 30_000}}
    calendar = Calendar(300, slots, days, tariffs, (TariffChange(20250910, 2, 2, 85_000, 30_000),), shares)
    return Bundle(
        school_id=SCHOOL,
        sequence=17,
        generated_at=NOW - 3600,
        valid_until=NOW + 2 * DAY,
        entries=entries,
        calendar=calendar,
        revoked=frozenset({(1_234_567, 2)}),
    )


def allowlist_bundles() -> Book:
    kind = Kind("allowlist_bundle", "cose", MAX_BUNDLE, SIGNER, ISSUER_NEW, 6)
    inputs = {
        "trusted_keys": TRUSTED_JSON,
        "now": NOW,
        "leeway": LEEWAY,
        "school_id": SCHOOL,
        "last_sequence": 16,
    }
    book = Book(kind, inputs)
    bundle = _bundle()
    good = sign_bundle(SIGNER, bundle)
    book.valid("valid", "newer than the held sequence 16", good, bundle)
    book.valid(
        "valid-same-sequence",
        "the held sequence again (re-fetch) is accepted",
        good,
        bundle,
        last_sequence=17,
    )
    book.valid(
        "valid-stored",
        "re-reading a stored bundle: no time given, no sequence held",
        good,
        bundle,
        now=None,
        last_sequence=None,
    )
    common_defects(book, good, bundle)
    book.invalid(
        "key-not-valid", "allowlist-signer key before its nbf", good, "KEY_NOT_VALID", now=NOW - 91 * DAY
    )
    book.invalid(
        "expired", "past valid_until beyond the leeway", good, "EXPIRED", now=bundle.valid_until + 100
    )
    book.invalid(
        "wrong-school", "bundle of school 4242 offered to 4243", good, "WRONG_SCHOOL", school_id=SCHOOL + 1
    )
    book.invalid("rollback", "sequence 17 when 18 is held", good, "ROLLBACK", last_sequence=18)
    _, _, payload, _ = parts(good)

    def dup_voucher(cl: dict[Any, Any]) -> None:
        cl[-42].append(cl[-42][0])

    def bad_status(cl: dict[Any, Any]) -> None:
        cl[-42][0][4] = 9

    def unknown_slot(cl: dict[Any, Any]) -> None:
        cl[-43][3][0][1] = [1, 7]

    def tariff_unknown_slot(cl: dict[Any, Any]) -> None:
        cl[-43][4].append([2, 7, 50_000])

    def tariff_no_change(cl: dict[Any, Any]) -> None:
        cl[-43][5][0][3] = 80_000

    def share_above_price(cl: dict[Any, Any]) -> None:
        cl[-43][4][2][3] = 45_001

    def zero_share(cl: dict[Any, Any]) -> None:
        cl[-43][4][0].append(0)

    for vid, desc, change in (
        ("malformed-duplicate-voucher", "a voucher listed twice", dup_voucher),
        ("malformed-entry-status", "entry status 9", bad_status),
        ("malformed-calendar-slot", "a day names slot 7, which is not defined", unknown_slot),
        ("malformed-tariff-slot", "a tariff for slot 7, which is not defined", tariff_unknown_slot),
        ("malformed-tariff-change", "a tariff change to the price already in force", tariff_no_change),
        ("malformed-tariff-share", "a family's share above its tariff", share_above_price),
        ("malformed-tariff-zero-share", "a family's share of zero written out", zero_share),
    ):
        book.invalid(vid, desc + " (re-signed)", cose(with_claims(payload, change), SIGNER), "MALFORMED")
    return book


TRUST_LIST = TrustList(sequence=5, issued_at=NOW - DAY, expires_at=NOW + 30 * DAY, keys=TRUSTED)


def trust_lists() -> Book:
    kind = Kind("trust_list", "cose", MAX_TRUST_LIST, ROOT, None, 6)
    inputs = {"root_public_key": ROOT.public.raw.hex(), "now": NOW, "leeway": LEEWAY, "last_sequence": 4}
    book = Book(kind, inputs)
    good = sign_trust_list(ROOT, TRUST_LIST)
    book.valid("valid", "five keys, two voucher issuers overlapping", good, TRUST_LIST)
    book.valid(
        "valid-stored",
        "re-reading a stored list: no time given",
        good,
        TRUST_LIST,
        now=None,
        last_sequence=None,
    )
    common_defects(book, good, TRUST_LIST)
    book.invalid(
        "unknown-kid-other-root",
        "signed by another root key than the pinned one",
        sign_trust_list(KEYS["rogue_root"], TRUST_LIST),
        "UNKNOWN_KID",
    )
    book.invalid(
        "expired", "past the list's exp beyond the leeway", good, "EXPIRED", now=TRUST_LIST.expires_at + 100
    )
    book.invalid("rollback", "sequence 5 when 6 is held", good, "ROLLBACK", last_sequence=6)
    _, _, payload, _ = parts(good)

    def kid_mismatch(cl: dict[Any, Any]) -> None:
        cl[-61][0][0] = ROGUE.kid

    def root_listed(cl: dict[Any, Any]) -> None:
        cl[-61].append([ROOT.kid, ROOT.public.raw, 0, NOW, NOW + DAY])

    def bad_role(cl: dict[Any, Any]) -> None:
        cl[-61][0][2] = 9

    def listed_twice(cl: dict[Any, Any]) -> None:
        cl[-61].append([*cl[-61][0][:2], 1, NOW, NOW + 3650 * DAY])

    for vid, desc, change in (
        ("malformed-kid-mismatch", "a key entry whose kid is not sha256(key)[:8]", kid_mismatch),
        ("malformed-root-listed", "the root key listed in its own trust list", root_listed),
        ("malformed-role", "key role 9", bad_role),
        ("malformed-key-listed-twice", "the old issuer key again with a ten-year validity", listed_twice),
    ):
        book.invalid(vid, desc + " (re-signed)", cose(with_claims(payload, change), ROOT), "MALFORMED")
    return book


def _event(n: int, *, served: bool) -> MealEvent:
    return MealEvent(
        event_id=hashlib.sha256(b"event-%d" % n).digest()[:16],
        seq=100 + n,
        boot_id=hashlib.sha256(b"boot-1").digest()[:16],
        mono_ms=3_600_000 + 1000 * n,
        wall_ms=(NOW + n) * 1000,
        wall_trusted=True,
        served=served,
        reason="SERVED" if served else "EXPIRED",
        method=Method.QR,
        voucher_id=1_234_567 + n if served else None,
        token_serial=3 if served else None,
        slot=1 if served else None,
        day=20250908 if served else None,
    )


BATCH = MealBatch(
    terminal_id=77, created_at=NOW + 60, events=(_event(1, served=True), _event(2, served=False))
)


def meal_batches() -> Book:
    kind = Kind("meal_batch", "cose", MAX_BATCH, DEVICE, SIGNER, 6)
    book = Book(kind, {"trusted_keys": TRUSTED_JSON, "now": None, "leeway": LEEWAY})
    good = sign_batch(DEVICE, BATCH)
    claims = {"kid": DEVICE.kid, "batch": BATCH}
    book.valid("valid", "one served and one refused event", good, claims)
    common_defects(book, good, claims)
    _, _, payload, _ = parts(good)

    def dup_event(cl: dict[Any, Any]) -> None:
        cl[-82][1][0] = cl[-82][0][0]

    def missing_key(cl: dict[Any, Any]) -> None:
        del cl[-82][0][12]

    def bad_method(cl: dict[Any, Any]) -> None:
        cl[-82][0][8] = 3

    for vid, desc, change in (
        ("malformed-duplicate-event-id", "two events with one id", dup_event),
        ("malformed-event-keys", "an event without key 12 (day)", missing_key),
        ("malformed-method", "method 3", bad_method),
    ):
        book.invalid(vid, desc + " (re-signed)", cose(with_claims(payload, change), DEVICE), "MALFORMED")
    return book


AUTH = DeviceAuth(terminal_id=77, request="GET /api/terminal/v1/allowlist", issued_at=NOW)


def device_auths() -> Book:
    kind = Kind("device_auth", "header", MAX_AUTH, DEVICE, SIGNER, 6)
    inputs = {"trusted_keys": TRUSTED_JSON, "now": NOW, "leeway": 300, "request": AUTH.request}
    book = Book(kind, inputs)
    header = sign_device_auth(DEVICE, AUTH).encode("ascii")
    good = base64.urlsafe_b64decode(header + b"=" * (-len(header) % 4))
    claims = {"kid": DEVICE.kid, "auth": AUTH}
    book.valid("valid", "fresh token for this request", good, claims)
    book.valid("valid-clock-skew", "terminal clock 200 s behind, leeway 300 s", good, claims, now=NOW + 200)
    common_defects(book, good, claims)
    book.invalid(
        "too-large-header",
        f"header of {MAX_AUTH + 1} characters",
        b"A" * (MAX_AUTH + 1),
        "TOO_LARGE",
        presented=True,
    )
    book.invalid("malformed-base64", "not base64url", b"!!!!", "MALFORMED", presented=True)
    book.invalid(
        "malformed-base64-stray-character",
        "a good header with one character outside base64url inserted (the decoder would skip it)",
        header[:10] + b"*" + header[10:],
        "MALFORMED",
        presented=True,
    )
    book.invalid(
        "malformed-base64-padding",
        "a good header with = padding",
        header + b"=" * (-len(header) % 4 or 4),
        "MALFORMED",
        presented=True,
    )
    book.invalid(
        "malformed-other-request",
        "token made for another request",
        good,
        "MALFORMED",
        request="POST /api/terminal/v1/batches",
    )
    book.invalid("key-not-valid", "device key past its not_after", good, "KEY_NOT_VALID", now=NOW + 366 * DAY)
    book.invalid(
        "not-yet-valid", "iat 400 s ahead of the server, leeway 300 s", good, "NOT_YET_VALID", now=NOW - 400
    )
    book.invalid("expired", "iat 400 s behind the server, leeway 300 s", good, "EXPIRED", now=NOW + 400)
    return book


NONCE = hashlib.sha256(b"nonce-1").digest()[:16]


def signed_times() -> Book:
    kind = Kind("signed_time", "cose", MAX_TIME, SIGNER, ISSUER_NEW, 6)
    book = Book(kind, {"trusted_keys": TRUSTED_JSON, "now": None, "leeway": LEEWAY, "nonce": NONCE.hex()})
    good = sign_time(SIGNER, now=NOW, nonce=NONCE)
    book.valid("valid", "the server's time for our nonce", good, {"time": NOW})
    common_defects(book, good, {"time": NOW})
    other = hashlib.sha256(b"nonce-2").digest()[:16]
    book.invalid(
        "malformed-other-nonce", "answer to another nonce (replay)", good, "MALFORMED", nonce=other.hex()
    )
    return book


BUILDERS: dict[str, Callable[[], Book]] = {
    "voucher_token": voucher_tokens,
    "card_credential": card_credentials,
    "allowlist_bundle": allowlist_bundles,
    "trust_list": trust_lists,
    "meal_batch": meal_batches,
    "device_auth": device_auths,
    "signed_time": signed_times,
}


def render(name: str) -> str:
    book = BUILDERS[name]()
    doc = {
        "object": name,
        "signing_keys": {
            k: {"seed": v.seed().hex(), "public_key": v.public.raw.hex(), "kid": v.kid.hex()}
            for k, v in KEYS.items()
        },
        "vectors": book.vectors,
    }
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def main(out_dir: Path = VECTOR_DIR) -> None:
    assert set(BUILDERS) == set(OBJECTS)
    for name in OBJECTS:
        (out_dir / f"{name}.json").write_text(render(name), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else VECTOR_DIR)

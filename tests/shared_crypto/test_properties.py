"""Property-based tests: round trips over the whole value ranges, strict CBOR, and the time-window rule."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_crypto import (
    Bundle,
    Calendar,
    CardCredential,
    Entry,
    EntryStatus,
    KeyRole,
    MealSlot,
    Reason,
    TrustedKey,
    TrustStore,
    VerificationError,
    VoucherToken,
    issue_card_credential,
    issue_qr_text,
    issue_token,
    sign_bundle,
    verify_bundle,
    verify_card_credential,
    verify_qr_text,
    verify_token,
)
from shared_crypto import claims as c
from shared_crypto.cbor import dumps, loads_strict

from .helpers import CARD, ISSUER, NOW, SIGNER, store

u32 = st.integers(0, 0xFFFF_FFFF)


@st.composite
def tokens(draw: st.DrawFn) -> VoucherToken:
    nbf = draw(st.integers(0, 0xFFFF_FFFE))
    return VoucherToken(
        voucher_id=draw(u32),
        school_id=draw(u32),
        serial=draw(st.integers(0, 0xFFFF)),
        plan=draw(st.integers(0, 23)),
        nbf=nbf,
        exp=draw(st.integers(nbf + 1, 0xFFFF_FFFF)),
    )


@settings(max_examples=150, deadline=None)
@given(tokens())
def test_token_round_trip_and_size(t: VoucherToken) -> None:
    data = issue_token(ISSUER, t)
    assert len(data) <= 120
    # Key validity is checked at `now`; use a store whose key covers any time.
    forever = TrustStore([TrustedKey(ISSUER.public, KeyRole.VOUCHER_ISSUER, 0, 2**64)])
    assert verify_token(data, forever, now=t.nbf, leeway=0, school_id=t.school_id) == t
    assert verify_qr_text(issue_qr_text(ISSUER, t), forever, now=t.exp - 1, leeway=0) == t


@settings(max_examples=300, deadline=None)
@given(
    nbf=st.integers(0, 2**32),
    span=st.integers(1, 10**6),
    now=st.integers(0, 2**33),
    leeway=st.integers(0, 3600),
)
def test_window_rule(nbf: int, span: int, now: int, leeway: int) -> None:
    exp = nbf + span
    try:
        c.check_window(nbf, exp, now, leeway, what="token")
        outcome = None
    except VerificationError as exc:
        outcome = exc.reason
    if now + leeway < nbf:
        assert outcome is Reason.NOT_YET_VALID
    elif now - leeway >= exp:
        assert outcome is Reason.EXPIRED
    else:
        assert outcome is None
    # A larger leeway never turns an accepted time into a rejected one.
    if outcome is None:
        c.check_window(nbf, exp, now, leeway + 1, what="token")


cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20)
    | st.floats(allow_nan=False),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.integers(-100, 100) | st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(cbor_values)
def test_deterministic_cbor_round_trips(value: Any) -> None:
    data = dumps(value)
    assert loads_strict(data, len(data), "value") == value


@settings(max_examples=300, deadline=None)
@given(cbor_values, st.binary(min_size=1, max_size=3))
def test_trailing_bytes_are_always_rejected(value: Any, tail: bytes) -> None:
    data = dumps(value) + tail
    with pytest.raises(VerificationError) as exc:
        loads_strict(data, len(data), "value")
    assert exc.value.reason is Reason.MALFORMED


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.integers(-50, 50), st.integers(0, 2**40), min_size=2, max_size=6))
def test_non_canonical_encodings_of_the_same_map_are_rejected(m: dict[int, int]) -> None:
    canonical = dumps(m)
    unsorted = cbor2.dumps(dict(sorted(m.items(), key=lambda kv: -kv[0])), canonical=False)
    if unsorted != canonical:
        with pytest.raises(VerificationError):
            loads_strict(unsorted, 1000, "map")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_a_value_or_malformed(data: bytes) -> None:
    try:
        loads_strict(data, 200, "bytes")
    except VerificationError as exc:
        assert exc.reason is Reason.MALFORMED


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([4, 7, 10]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    st.binary(min_size=16, max_size=16),
    u32,
)
def test_card_credential_binds_its_uid(uid: bytes, pseudonym: bytes, school: int) -> None:
    cred = CardCredential(school, uid, pseudonym, NOW)
    data = issue_card_credential(CARD, cred)
    assert verify_card_credential(data, store(), uid=uid, now=NOW, leeway=0, school_id=school) == cred
    other = bytes([uid[0] ^ 1]) + uid[1:]
    with pytest.raises(VerificationError) as exc:
        verify_card_credential(data, store(), uid=other, now=NOW, leeway=0)
    assert exc.value.reason is Reason.CARD_MISMATCH


entries = st.builds(
    Entry,
    voucher_id=u32,
    pseudonym=st.binary(min_size=16, max_size=16),
    card_uid_hashes=st.lists(st.binary(min_size=16, max_size=16), max_size=4).map(tuple),
    plan=st.integers(0, 23),
    status=st.sampled_from(EntryStatus),
    min_serial=st.integers(0, 0xFFFF),
    display=st.text(max_size=64),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(entries, max_size=20, unique_by=lambda e: e.voucher_id),
    st.frozensets(st.tuples(u32, st.integers(0, 0xFFFF)), max_size=10),
    st.integers(-720, 840),
    st.integers(0, 2**40),
)
def test_bundle_round_trip(es: list[Entry], revoked: frozenset[tuple[int, int]], tz: int, seq: int) -> None:
    cal = Calendar(tz, (MealSlot(1, 540, 600), MealSlot(3, 700, 760)), {20250908: (1,), 20250909: (1, 3)})
    b = Bundle(7, seq, NOW - 10, NOW + 10, tuple(es), cal, revoked)
    assert (
        verify_bundle(sign_bundle(SIGNER, b), store(), school_id=7, now=NOW, leeway=0, last_sequence=seq) == b
    )

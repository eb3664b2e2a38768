"""Trust list: root pinning, rotation with overlap, rollback, and the key lookup's role and time rules."""

from __future__ import annotations

import pytest

from shared_crypto import (
    EncodingError,
    KeyRole,
    Reason,
    TrustedKey,
    TrustList,
    TrustStore,
    VerificationError,
    issue_token,
    sign_trust_list,
    verify_token,
    verify_trust_list,
)

from .helpers import DAY, NOW, ROOT, SIGNER, key, token

OLD, NEW = key("issuer-2024"), key("issuer-2025")
OLD_EXP = NOW + DAY  # the old key retires tomorrow; the new one began yesterday: a two-day overlap


def _list(seq: int = 5) -> TrustList:
    return TrustList(
        sequence=seq,
        issued_at=NOW - DAY,
        expires_at=NOW + 30 * DAY,
        keys=(
            TrustedKey(OLD.public, KeyRole.VOUCHER_ISSUER, NOW - 300 * DAY, OLD_EXP),
            TrustedKey(NEW.public, KeyRole.VOUCHER_ISSUER, NOW - DAY, NOW + 365 * DAY),
            TrustedKey(SIGNER.public, KeyRole.ALLOWLIST_SIGNER, NOW - DAY, NOW + 365 * DAY),
        ),
    )


def _store() -> TrustStore:
    tl = verify_trust_list(sign_trust_list(ROOT, _list()), ROOT.public, now=NOW, leeway=0)
    return TrustStore(tl.keys)


def test_round_trip() -> None:
    tl = verify_trust_list(sign_trust_list(ROOT, _list()), ROOT.public, now=NOW, leeway=0, last_sequence=5)
    assert tl == _list()


def test_both_issuer_keys_verify_during_the_overlap() -> None:
    trust = _store()
    for signer in (OLD, NEW):
        data = issue_token(signer, token())
        assert verify_token(data, trust, now=NOW, leeway=0).serial == 3


def test_old_key_is_rejected_after_its_not_after_and_new_key_still_works() -> None:
    trust = _store()
    later = OLD_EXP + 3600
    t = token(nbf=later - 60, exp=later + 300)
    with pytest.raises(VerificationError) as exc:
        verify_token(issue_token(OLD, t), trust, now=later, leeway=60)
    assert exc.value.reason is Reason.KEY_NOT_VALID
    assert verify_token(issue_token(NEW, t), trust, now=later, leeway=60).exp == later + 300


def test_key_not_yet_valid_before_its_nbf() -> None:
    early = NOW - 2 * DAY
    with pytest.raises(VerificationError) as exc:
        verify_token(issue_token(NEW, token(nbf=early - 60, exp=early + 60)), _store(), now=early, leeway=0)
    assert exc.value.reason is Reason.KEY_NOT_VALID


def test_key_validity_uses_the_callers_leeway() -> None:
    trust = _store()
    at = OLD_EXP + 10
    t = token(nbf=at - 60, exp=at + 60)
    assert verify_token(issue_token(OLD, t), trust, now=at, leeway=30).voucher_id == t.voucher_id
    with pytest.raises(VerificationError):
        verify_token(issue_token(OLD, t), trust, now=at, leeway=5)


def test_lookup_reasons() -> None:
    trust = _store()
    with pytest.raises(VerificationError) as exc:
        trust.lookup(key("stranger").kid, KeyRole.VOUCHER_ISSUER, NOW, 0)
    assert exc.value.reason is Reason.UNKNOWN_KID
    with pytest.raises(VerificationError) as exc:
        trust.lookup(SIGNER.kid, KeyRole.VOUCHER_ISSUER, NOW, 0)
    assert exc.value.reason is Reason.WRONG_KEY_ROLE
    assert trust.lookup(SIGNER.kid, KeyRole.ALLOWLIST_SIGNER, None, 0) == SIGNER.public
    assert len(trust) == 3


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"last_sequence": 6}, Reason.ROLLBACK),
        ({"now": NOW + 31 * DAY}, Reason.EXPIRED),
    ],
)
def test_list_rejections(kwargs: dict[str, int], reason: Reason) -> None:
    args: dict[str, int] = {"now": NOW, **kwargs}
    with pytest.raises(VerificationError) as exc:
        verify_trust_list(sign_trust_list(ROOT, _list()), ROOT.public, leeway=0, **args)
    assert exc.value.reason is reason


def test_only_the_pinned_root_may_sign() -> None:
    with pytest.raises(VerificationError) as exc:
        verify_trust_list(sign_trust_list(SIGNER, _list()), ROOT.public, now=NOW, leeway=0)
    assert exc.value.reason is Reason.UNKNOWN_KID


def test_a_key_listed_twice_is_refused_when_signing() -> None:
    """Verifying such a list is MALFORMED: vector trust_list/malformed-key-listed-twice."""
    tl = _list()
    again = TrustedKey(OLD.public, KeyRole.VOUCHER_ISSUER, 0, 2**40)
    with pytest.raises(EncodingError):
        sign_trust_list(ROOT, TrustList(6, tl.issued_at, tl.expires_at, (*tl.keys, again)))


def test_root_is_never_listed() -> None:
    bad = TrustList(1, NOW, NOW + DAY, (TrustedKey(ROOT.public, KeyRole.ROOT, NOW, NOW + DAY),))
    with pytest.raises(EncodingError):
        sign_trust_list(ROOT, bad)

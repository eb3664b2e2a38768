"""Keys, a trust store and sample objects shared by the shared_crypto tests (fixed seeds: reproducible)."""

from __future__ import annotations

import hashlib

from shared_crypto import KeyRole, SigningKey, TrustedKey, TrustStore, VoucherToken

NOW = 1_757_300_000
DAY = 86_400
SCHOOL = 4242


def key(name: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"sw1-unit-tests/" + name.encode()).digest())


ISSUER = key("issuer")
SIGNER = key("signer")
CARD = key("card")
DEVICE = key("device")
ROOT = key("root")


def store(*extra: TrustedKey) -> TrustStore:
    """Every role's key valid from 90 days ago to a year ahead, plus `extra`."""
    span = (NOW - 90 * DAY, NOW + 365 * DAY)
    return TrustStore(
        [
            TrustedKey(ISSUER.public, KeyRole.VOUCHER_ISSUER, *span),
            TrustedKey(SIGNER.public, KeyRole.ALLOWLIST_SIGNER, *span),
            TrustedKey(CARD.public, KeyRole.CARD_ISSUER, *span),
            TrustedKey(DEVICE.public, KeyRole.DEVICE, *span),
            *extra,
        ]
    )


def token(**changes: int) -> VoucherToken:
    fields = {
        "voucher_id": 1_234_567,
        "school_id": SCHOOL,
        "serial": 3,
        "plan": 1,
        "nbf": NOW - 60,
        "exp": NOW + 300,
    }
    fields.update(changes)
    return VoucherToken(**fields)

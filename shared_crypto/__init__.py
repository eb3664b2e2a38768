"""Keys and signed CBOR formats (COSE_Sign1 / CWT, Ed25519) shared by the terminal and the back end."""

from .allowlist import (
    Bundle,
    Calendar,
    Entry,
    EntryStatus,
    MealSlot,
    TariffChange,
    sign_bundle,
    verify_bundle,
)
from .card import CardCredential, issue_card_credential, uid_hash, verify_card_credential
from .cose import KeyLookup, sign1, verify_sign1
from .device_auth import DeviceAuth, sign_device_auth, sign_time, verify_device_auth, verify_time
from .errors import EncodingError, Reason, VerificationError
from .keys import KeyRole, SigningKey, TrustedKey, VerifyKey, kid_of
from .meal_batch import MealBatch, MealEvent, Method, sign_batch, verify_batch
from .qr import from_qr_text, to_qr_text
from .trust import TrustList, TrustStore, sign_trust_list, verify_trust_list
from .voucher_token import (
    VoucherToken,
    check_standing,
    issue_qr_text,
    issue_token,
    issue_tokens,
    verify_qr_text,
    verify_token,
)

__all__ = [
    "Bundle",
    "Calendar",
    "CardCredential",
    "DeviceAuth",
    "EncodingError",
    "Entry",
    "EntryStatus",
    "KeyLookup",
    "KeyRole",
    "MealBatch",
    "MealEvent",
    "MealSlot",
    "Method",
    "Reason",
    "SigningKey",
    "TariffChange",
    "TrustList",
    "TrustStore",
    "TrustedKey",
    "VerificationError",
    "VerifyKey",
    "VoucherToken",
    "check_standing",
    "from_qr_text",
    "issue_card_credential",
    "issue_qr_text",
    "issue_token",
    "issue_tokens",
    "kid_of",
    "sign1",
    "sign_batch",
    "sign_bundle",
    "sign_device_auth",
    "sign_time",
    "sign_trust_list",
    "to_qr_text",
    "uid_hash",
    "verify_batch",
    "verify_bundle",
    "verify_card_credential",
    "verify_device_auth",
    "verify_qr_text",
    "verify_sign1",
    "verify_time",
    "verify_token",
    "verify_trust_list",
]

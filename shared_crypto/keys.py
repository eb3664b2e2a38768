"""Ed25519 keys (pyca/cryptography; signing by libsodium through PyNaCl), key ids and roles."""

from __future__ import annotations

import enum
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.bindings import crypto_sign, crypto_sign_seed_keypair

KID_LEN = 8
PUBLIC_KEY_LEN = 32


def kid_of(public_raw: bytes) -> bytes:
    """Key id: the first 8 bytes of SHA-256 of the raw 32-byte public key."""
    if len(public_raw) != PUBLIC_KEY_LEN:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return hashlib.sha256(public_raw).digest()[:KID_LEN]


class KeyRole(enum.IntEnum):
    """What a key in the trust list may sign. Values are on the wire."""

    ROOT = 0  # pinned at provisioning, signs trust lists only; never listed in one
    VOUCHER_ISSUER = 1  # dynamic QR tokens
    ALLOWLIST_SIGNER = 2  # per-school allowlist bundles
    DEVICE = 3  # a terminal's meal-event batches
    CARD_ISSUER = 4  # card credentials written on NFC cards


class VerifyKey:
    __slots__ = ("_key", "kid", "raw")

    def __init__(self, raw: bytes) -> None:
        self._key = Ed25519PublicKey.from_public_bytes(raw)
        self.raw = bytes(raw)
        self.kid = kid_of(self.raw)

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifyKey) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"VerifyKey(kid={self.kid.hex()})"


class SigningKey:
    __slots__ = ("_key", "_sodium", "public")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        # Ed25519 signatures are deterministic: libsodium's are OpenSSL's byte for byte, and about 1.3 ×
        # cheaper (bench/bench_issuance.py measures both); the back end signs dozens per pass.
        self._sodium = crypto_sign_seed_keypair(self.seed())[1]
        self.public = VerifyKey(
            key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """From the 32-byte RFC 8032 private key (seed)."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def kid(self) -> bytes:
        return self.public.kid

    def seed(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    def sign(self, message: bytes) -> bytes:
        return crypto_sign(message, self._sodium)[:64]  # signature, then the message

    def to_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        return cls(key)

    def save(self, path: Path) -> None:
        """Write as PKCS#8 PEM, readable by the owner only (mode 0600 from creation, no window)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.to_pem())
            f.flush()
            os.fsync(f.fileno())

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        return cls.from_pem(path.read_bytes())

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid.hex()})"


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A public key with what it may sign and when (unix seconds, exp exclusive)."""

    key: VerifyKey
    role: KeyRole
    nbf: int
    exp: int

    @property
    def kid(self) -> bytes:
        return self.key.kid

"""Trust list: the issuer keys a terminal accepts, signed by the root key pinned at provisioning.

Rotation works by overlap: a new key enters the list before the old one's `exp`, so tokens and bundles
signed by either verify during the change-over.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from . import claims as c
from .cbor import dumps
from .cose import sign1, verify_sign1
from .errors import EncodingError, Reason, VerificationError
from .keys import KID_LEN, PUBLIC_KEY_LEN, KeyRole, SigningKey, TrustedKey, VerifyKey, kid_of

MAX_TRUST_LIST = 64 * 1024
MAX_KEYS = 256
C_SEQUENCE = -60
C_KEYS = -61
_ALLOWED = frozenset({c.IAT, c.EXP, C_SEQUENCE, C_KEYS})


@dataclass(frozen=True, slots=True)
class TrustList:
    sequence: int
    issued_at: int
    expires_at: int
    keys: tuple[TrustedKey, ...]


class TrustStore:
    """Key lookup over trusted keys; implements cose.KeyLookup."""

    def __init__(self, keys: Iterable[TrustedKey]) -> None:
        self._keys: dict[bytes, TrustedKey] = {}
        for k in keys:
            self._keys[k.kid] = k

    def lookup(self, kid: bytes, role: KeyRole, now: int | None, leeway: int) -> VerifyKey:
        entry = self._keys.get(kid)
        if entry is None:
            raise VerificationError(Reason.UNKNOWN_KID, kid.hex())
        if entry.role != role:
            raise VerificationError(
                Reason.WRONG_KEY_ROLE, f"{kid.hex()} is a {entry.role.name} key, not {role.name}"
            )
        if now is not None and not (entry.nbf - leeway <= now < entry.exp + leeway):
            raise VerificationError(
                Reason.KEY_NOT_VALID,
                f"{entry.role.name} key {kid.hex()} valid {c.readable_time(entry.nbf)}"
                f" to {c.readable_time(entry.exp)}, now {c.readable_time(now)}",
            )
        return entry.key

    def __len__(self) -> int:
        return len(self._keys)


class PinnedRoot:
    """The root key pinned at provisioning: the only key a trust list may be signed with."""

    def __init__(self, root: VerifyKey) -> None:
        self.root = root

    def lookup(self, kid: bytes, role: KeyRole, now: int | None, leeway: int) -> VerifyKey:
        if kid != self.root.kid:
            raise VerificationError(
                Reason.UNKNOWN_KID, f"trust list not signed by the pinned root ({kid.hex()})"
            )
        return self.root


def sign_trust_list(root: SigningKey, tl: TrustList) -> bytes:
    if len(tl.keys) > MAX_KEYS:
        raise EncodingError(f"at most {MAX_KEYS} keys")
    if any(k.role is KeyRole.ROOT for k in tl.keys):
        raise EncodingError("the root key is pinned, never listed")
    if len({k.kid for k in tl.keys}) != len(tl.keys):
        raise EncodingError("a key is listed twice")
    entries = [[k.kid, k.key.raw, int(k.role), k.nbf, k.exp] for k in tl.keys]
    payload = dumps({c.EXP: tl.expires_at, c.IAT: tl.issued_at, C_SEQUENCE: tl.sequence, C_KEYS: entries})
    return sign1(payload, root)


def verify_trust_list(
    data: bytes, root: VerifyKey, *, now: int | None, leeway: int, last_sequence: int | None = None
) -> TrustList:
    """Verify against the pinned root; `now=None` skips the time check (re-reading a list already accepted)."""
    _, payload = verify_sign1(
        data, PinnedRoot(root), KeyRole.ROOT, now=None, leeway=leeway, max_size=MAX_TRUST_LIST
    )
    cl = c.decode_claims(payload, _ALLOWED, _ALLOWED, MAX_TRUST_LIST)
    tl_exp = c.uint(cl[c.EXP], "exp")
    if now is not None:
        c.check_window(None, tl_exp, now, leeway, what="trust list")
    seq = c.uint(cl[C_SEQUENCE], "sequence")
    if last_sequence is not None and seq < last_sequence:
        raise VerificationError(Reason.ROLLBACK, f"trust list {seq} is older than {last_sequence}")
    keys = []
    for raw in c.array(cl[C_KEYS], "keys", MAX_KEYS):
        kid, pub, role, nbf, exp = c.tuple_of(raw, "key entry", 5)
        c.bstr(kid, "kid", KID_LEN, KID_LEN)
        c.bstr(pub, "public key", PUBLIC_KEY_LEN, PUBLIC_KEY_LEN)
        if kid_of(pub) != kid:
            raise VerificationError(Reason.MALFORMED, "key entry kid does not match its public key")
        try:
            key_role = KeyRole(c.uint(role, "role"))
            vk = VerifyKey(pub)
        except ValueError:
            raise VerificationError(Reason.MALFORMED, "bad key entry") from None
        if key_role is KeyRole.ROOT:
            raise VerificationError(Reason.MALFORMED, "the root key is pinned, never listed")
        keys.append(TrustedKey(vk, key_role, c.uint(nbf, "nbf"), c.uint(exp, "exp")))
    if len({k.kid for k in keys}) != len(keys):
        raise VerificationError(Reason.MALFORMED, "a key is listed twice")  # which entry would count?
    return TrustList(sequence=seq, issued_at=c.uint(cl[c.IAT], "iat"), expires_at=tl_exp, keys=tuple(keys))

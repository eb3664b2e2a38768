"""The verified trust list and allowlist bundle in force, on flash and indexed in memory.

A new trust list must verify under the pinned root key and a new bundle under the trust list, for this
school, with a sequence number not below the one held; anything else is rejected with the
shared_crypto reason (BAD_SIGNATURE, WRONG_SCHOOL, ROLLBACK, ...) and the held one stays in force.
Files are replaced atomically (device.atomic), with the names provisioning writes at enrolment.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from pathlib import Path

from shared_crypto import Bundle, Entry, TrustList, TrustStore, VerificationError, VerifyKey
from shared_crypto.allowlist import verify_bundle
from shared_crypto.card import uid_hash
from shared_crypto.trust import verify_trust_list

from .atomic import atomic_write

log = logging.getLogger(__name__)
TRUST_LIST_FILE = "trust_list.cose"
ALLOWLIST_FILE = "allowlist.cose"


class Freshness(enum.StrEnum):
    FRESH = "FRESH"  # before valid_until
    STALE = "STALE"  # past valid_until, within the grace: serve, with the WARNING indicator
    EXPIRED = "EXPIRED"  # past the grace: refuse ALLOWLIST_EXPIRED
    NONE = "NONE"  # no bundle installed


@dataclass(frozen=True, slots=True)
class AllowlistView:
    """One bundle and its indexes; replaced whole, so a decision never sees half of two bundles."""

    bundle: Bundle
    by_voucher: dict[int, Entry]
    by_card: dict[bytes, Entry]  # card UID hash → entry
    by_pseudonym: dict[bytes, Entry]

    @classmethod
    def of(cls, bundle: Bundle) -> AllowlistView:
        by_card = {h: e for e in bundle.entries for h in e.card_uid_hashes}
        return cls(
            bundle,
            {e.voucher_id: e for e in bundle.entries},
            by_card,
            {e.pseudonym: e for e in bundle.entries},
        )

    def entry_for_card(self, uid: bytes) -> Entry | None:
        return self.by_card.get(uid_hash(uid))


class AllowlistStore:
    def __init__(
        self, data_dir: Path, root: VerifyKey, school_id: int, *, leeway_s: int, stale_grace_s: int
    ) -> None:
        self._dir = data_dir
        self._root = root
        self.school_id = school_id
        self._leeway = leeway_s
        self._grace = stale_grace_s
        self.trust_list: TrustList | None = None
        self.trust = TrustStore(())
        self.view: AllowlistView | None = None
        self._load()

    @property
    def bundle(self) -> Bundle | None:
        return None if self.view is None else self.view.bundle

    def freshness(self, now_s: int) -> Freshness:
        b = self.bundle
        if b is None:
            return Freshness.NONE
        if now_s < b.valid_until:
            return Freshness.FRESH
        if now_s < b.valid_until + self._grace:
            return Freshness.STALE
        return Freshness.EXPIRED

    def install_trust_list(self, data: bytes, now_s: int | None) -> bool:
        """Verify and keep; False if it is the list already held. Raises VerificationError."""
        held = self.trust_list
        tl = verify_trust_list(
            data,
            self._root,
            now=now_s,
            leeway=self._leeway,
            last_sequence=None if held is None else held.sequence,
        )
        if held is not None and tl == held:
            return False
        atomic_write(self._dir / TRUST_LIST_FILE, data)
        self.trust_list, self.trust = tl, TrustStore(tl.keys)
        log.info("trust list #%d installed (%d keys)", tl.sequence, len(tl.keys))
        return True

    def install_bundle(self, data: bytes, now_s: int | None) -> bool:
        """Verify and keep; False if it is the bundle already held. Raises VerificationError."""
        held = self.bundle
        bundle = verify_bundle(
            data,
            self.trust,
            school_id=self.school_id,
            now=now_s,
            leeway=self._leeway,
            last_sequence=None if held is None else held.sequence,
        )
        if held is not None and bundle == held:
            return False
        atomic_write(self._dir / ALLOWLIST_FILE, data)
        self.view = AllowlistView.of(bundle)
        log.info("allowlist #%d installed (%d entries)", bundle.sequence, len(bundle.entries))
        return True

    def _load(self) -> None:
        """What is on flash was verified when installed; it is checked again (not its age: a stale
        bundle still serves within the grace). A file that no longer verifies is not used."""
        try:
            data = (self._dir / TRUST_LIST_FILE).read_bytes()
            tl = verify_trust_list(data, self._root, now=None, leeway=self._leeway)
            self.trust_list, self.trust = tl, TrustStore(tl.keys)
        except FileNotFoundError:
            return
        except VerificationError as e:
            log.error("stored trust list rejected (%s); waiting for sync", e)
            return
        try:
            data = (self._dir / ALLOWLIST_FILE).read_bytes()
            bundle = verify_bundle(data, self.trust, school_id=self.school_id, now=None, leeway=self._leeway)
            self.view = AllowlistView.of(bundle)
        except FileNotFoundError:
            return
        except VerificationError as e:
            log.error("stored allowlist rejected (%s); waiting for sync", e)

"""Picking a pupil on the terminal, from the school's allowlist: display strings and voucher ids only.

The card endpoints name a pupil by pseudonym (docs/terminal-api.md). The technician finds the pupil by
class or initials among the allowlist's display strings ("А. Б., 5Б") and picks one by number; the
voucher id, which the admin app shows next to the name, tells two pupils with the same initials apart.
So no name or IIN ever reaches the terminal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from device.allowlist_store import TRUST_LIST_FILE
from device.config import DeviceConfig
from shared_crypto import Entry, TrustStore, VerificationError, verify_bundle, verify_trust_list
from shared_crypto.keys import VerifyKey

from .enrol import LEEWAY, EnrolClient, load_or_create_key
from .errors import Problem, ProvisioningError

MAX_LISTED = 20  # more matches than fit a terminal screen: ask for a narrower search


@dataclass(frozen=True, slots=True)
class Pupil:
    voucher_id: int
    pseudonym: bytes
    display: str

    def label(self) -> str:
        return f"{self.display}  (voucher {self.voucher_id})"


class Roster:
    def __init__(self, entries: Iterable[Entry]) -> None:
        # Suspended or revoked vouchers still name a pupil whose card may be registered ahead of time.
        self._pupils = sorted(
            (Pupil(e.voucher_id, e.pseudonym, e.display) for e in entries),
            key=lambda p: (p.display.casefold(), p.voucher_id),
        )

    def __len__(self) -> int:
        return len(self._pupils)

    def find(self, query: str) -> list[Pupil]:
        """Pupils whose display string holds `query` (any case), or whose voucher id is `query` / `#query`."""
        q = query.strip().casefold()
        if q.lstrip("#").isdigit():
            vid = int(q.lstrip("#"))
            return [p for p in self._pupils if p.voucher_id == vid]
        return [p for p in self._pupils if q in p.display.casefold()]


def pinned_trust(cfg: DeviceConfig) -> TrustStore:
    """The keys of the trust list on the terminal, checked again against the pinned root."""
    try:
        root = VerifyKey(cfg.root_key_file.read_bytes())
        trust = verify_trust_list((cfg.data_dir / TRUST_LIST_FILE).read_bytes(), root, now=None, leeway=0)
    except (OSError, ValueError, VerificationError) as e:
        raise ProvisioningError(
            Problem.CONFIG, f"pinned root or trust list unreadable ({e})", "enrol the terminal again"
        ) from e
    return TrustStore(trust.keys)


def fetch_roster(
    client: EnrolClient, cfg: DeviceConfig, trust: TrustStore, *, now: Callable[[], float] = time.time
) -> Roster:
    """The school's current allowlist, fetched with the terminal's own key and verified like enrolment does."""
    key, _ = load_or_create_key(cfg.key_file)
    raw = client.fetch("/allowlist", "allowlist", key, cfg.terminal_id)
    try:
        bundle = verify_bundle(raw, trust, school_id=cfg.school_id, now=int(now()), leeway=LEEWAY)
    except VerificationError as e:
        raise ProvisioningError(
            Problem.ALLOWLIST,
            f"allowlist does not verify: {e}",
            "check the clock (`timedatectl`); if it is right, report it to the admin",
        ) from e
    return Roster(bundle.entries)


Ask = Callable[[str], str]
Say = Callable[[str], None]


def pick_pupil(roster: Roster, ask: Ask, say: Say) -> Pupil | None:
    """Search, list, pick by number; an empty search ends (None)."""
    while True:
        query = ask("pupil: class, initials or voucher id (empty to finish): ").strip()
        if not query:
            return None
        found = roster.find(query)
        if not found:
            say(f"no pupil matches {query!r} among {len(roster)}: try the class alone, e.g. 5Б")
            continue
        if len(found) > MAX_LISTED:
            say(f"{len(found)} pupils match {query!r}: add the initials or give the voucher id")
            continue
        for i, p in enumerate(found, 1):
            say(f"  {i:2d}) {p.label()}")
        while choice := ask(f"number 1-{len(found)} (empty to search again): ").strip():
            if choice.isdigit() and 1 <= int(choice) <= len(found):
                return found[int(choice) - 1]
            say(f"{choice!r} is not a number from the list")

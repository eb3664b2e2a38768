"""A demo school for a terminal with no back end: keys, trust list, allowlist and a config on disk.

Used by the simulator (`python -m device setup-sim DIR`), the tests, the power-cut child and the
bench: everything a provisioned terminal holds, made here with throw-away keys.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from shared_crypto import (
    Bundle,
    Calendar,
    CardCredential,
    Entry,
    EntryStatus,
    KeyRole,
    MealSlot,
    SigningKey,
    TrustedKey,
    TrustList,
    VoucherToken,
    issue_card_credential,
    issue_qr_text,
    sign_bundle,
    sign_trust_list,
    uid_hash,
)

from ..allowlist_store import ALLOWLIST_FILE, TRUST_LIST_FILE
from ..config import DeviceConfig, Rules

KZ_OFFSET_MIN = 300  # UTC+5 nationwide since 1 March 2024
BREAKFAST = MealSlot(1, 8 * 60, 10 * 60)
LUNCH = MealSlot(2, 12 * 60, 14 * 60 + 30)
SCHOOL_ID = 1001
TERMINAL_ID = 7
KEY_VALID = (1_700_000_000, 2_000_000_000)


def unix_local(y: int, m: int, d: int, hh: int = 0, mm: int = 0, offset_min: int = KZ_OFFSET_MIN) -> int:
    """Unix seconds of a local wall time at a fixed UTC offset."""
    return calendar.timegm((y, m, d, hh, mm, 0)) - offset_min * 60


def yyyymmdd(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def pseudonym(voucher_id: int) -> bytes:
    return hashlib.sha256(b"demo-pupil" + voucher_id.to_bytes(4, "big")).digest()[:16]


def card_uid(voucher_id: int) -> bytes:
    """A 7-byte NTAG-like UID for the demo pupil with this voucher."""
    return b"\x04" + voucher_id.to_bytes(6, "big")


@dataclass(frozen=True, slots=True)
class Keys:
    root: SigningKey = field(default_factory=SigningKey.generate)
    issuer: SigningKey = field(default_factory=SigningKey.generate)
    signer: SigningKey = field(default_factory=SigningKey.generate)
    card_issuer: SigningKey = field(default_factory=SigningKey.generate)
    device: SigningKey = field(default_factory=SigningKey.generate)

    def trust_list(self, sequence: int = 1) -> bytes:
        nbf, exp = KEY_VALID
        tl = TrustList(
            sequence=sequence,
            issued_at=nbf,
            expires_at=exp,
            keys=(
                TrustedKey(self.issuer.public, KeyRole.VOUCHER_ISSUER, nbf, exp),
                TrustedKey(self.signer.public, KeyRole.ALLOWLIST_SIGNER, nbf, exp),
                TrustedKey(self.card_issuer.public, KeyRole.CARD_ISSUER, nbf, exp),
            ),
        )
        return sign_trust_list(self.root, tl)


FREE, DISCOUNTED = 1, 2  # the back end's plans (backend/vouchers/model.py)
# A meal's full price in tiyn per slot (1 ₸ = 100 tiyn): breakfast 450 ₸, lunch 800.50 ₸, both plans.
PRICES = {BREAKFAST.slot_id: 45_000, LUNCH.slot_id: 80_050}
# What the family pays of it on the discounted plan (the state pays the rest): 150 ₸, 266.85 ₸.
FAMILY_SHARES = {BREAKFAST.slot_id: 15_000, LUNCH.slot_id: 26_685}
_INITIALS = ("А.С.", "Н.Қ.", "Д.Ж.", "Е.Т.", "Ә.М.", "Т.Б.", "М.Е.", "А.О.", "Ж.Н.", "С.Ә.", "А.Д.", "Д.Ғ.")
_LETTERS = "АӘБВ"


def school_calendar(days: Iterable[dt.date], slots: tuple[MealSlot, ...] = (BREAKFAST, LUNCH)) -> Calendar:
    """The days given, each with every slot; tariffs for both plans in every slot (PRICES, else 500 ₸),
    the discounted plan's with the family's share (FAMILY_SHARES, else a third)."""
    ids = tuple(s.slot_id for s in slots)
    prices = {s.slot_id: PRICES.get(s.slot_id, 50_000) for s in slots}
    return Calendar(
        KZ_OFFSET_MIN,
        slots,
        {yyyymmdd(d): ids for d in days},
        tariffs={FREE: prices, DISCOUNTED: dict(prices)},
        family_shares={DISCOUNTED: {i: FAMILY_SHARES.get(i, p // 3) for i, p in prices.items()}},
    )


def display(voucher_id: int) -> str:
    """The demo pupil's display string: initials and class, as the back end makes it."""
    v = voucher_id
    return f"{_INITIALS[v % len(_INITIALS)]} {1 + v % 11}{_LETTERS[v % len(_LETTERS)]}"


def plan(voucher_id: int) -> int:
    """Every fourth demo pupil is on the discounted plan."""
    return DISCOUNTED if voucher_id % 4 == 3 else FREE


def entries(n: int, *, first: int = 1) -> tuple[Entry, ...]:
    """n active vouchers; each pupil's demo card (card_uid) is registered by its UID hash when the
    voucher id is even, and must carry a card credential when it is odd."""
    return tuple(
        Entry(
            voucher_id=v,
            pseudonym=pseudonym(v),
            card_uid_hashes=(uid_hash(card_uid(v)),) if v % 2 == 0 else (),
            plan=plan(v),
            status=EntryStatus.ACTIVE,
            min_serial=1,
            display=display(v),
        )
        for v in range(first, first + n)
    )


def bundle(
    *,
    days: Iterable[dt.date],
    generated_at: int,
    valid_until: int,
    n: int = 20,
    sequence: int = 1,
    school_id: int = SCHOOL_ID,
    entry_list: tuple[Entry, ...] | None = None,
    revoked: frozenset[tuple[int, int]] = frozenset(),
    cal: Calendar | None = None,
) -> Bundle:
    return Bundle(
        school_id=school_id,
        sequence=sequence,
        generated_at=generated_at,
        valid_until=valid_until,
        entries=entries(n) if entry_list is None else entry_list,
        calendar=cal or school_calendar(days),
        revoked=revoked,
    )


def qr_text(
    keys: Keys, voucher_id: int, now: int, *, serial: int = 1, school_id: int = SCHOOL_ID, ttl: int = 300
) -> str:
    token = VoucherToken(voucher_id, school_id, serial, plan(voucher_id), now - 60, now + ttl)
    return issue_qr_text(keys.issuer, token)


def card_credential(keys: Keys, voucher_id: int, now: int, *, uid: bytes | None = None) -> bytes:
    return issue_card_credential(
        keys.card_issuer,
        CardCredential(SCHOOL_ID, uid or card_uid(voucher_id), pseudonym(voucher_id), now),
    )


def provision(
    data_dir: Path,
    keys: Keys,
    b: Bundle,
    *,
    rules: Rules | None = None,
    server_url: str = "http://backend.test",
) -> DeviceConfig:
    """Write what enrolment leaves on a terminal: device key, pinned root, trust list, allowlist."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = data_dir / "device_key.pem"
    if not key_file.exists():
        keys.device.save(key_file)
    (data_dir / "root_key.pub").write_bytes(keys.root.public.raw)
    (data_dir / TRUST_LIST_FILE).write_bytes(keys.trust_list())
    (data_dir / ALLOWLIST_FILE).write_bytes(sign_bundle(keys.signer, b))
    return DeviceConfig(
        server_url=server_url,
        terminal_id=TERMINAL_ID,
        school_id=b.school_id,
        canteen_id=1,
        data_dir=data_dir,
        key_file=key_file,
        root_key_file=data_dir / "root_key.pub",
        rules=rules or Rules(),
    )


def config_toml(cfg: DeviceConfig) -> str:
    """The config as the TOML file `python -m device run --config` reads."""
    r = cfg.rules
    return (
        "[terminal]\n"
        f'server_url = "{cfg.server_url}"\n'
        f"terminal_id = {cfg.terminal_id}\n"
        f"school_id = {cfg.school_id}\n"
        f"canteen_id = {cfg.canteen_id}\n"
        f'data_dir = "{cfg.data_dir}"\n'
        f'key_file = "{cfg.key_file}"\n'
        f'root_key_file = "{cfg.root_key_file}"\n'
        f'timezone = "{cfg.timezone}"\n'
        "\n[rules]\n"
        f"token_leeway_s = {r.token_leeway_s}\n"
        f"stale_grace_hours = {r.stale_grace_hours}\n"
        f"rtc = {'true' if r.rtc else 'false'}\n"
    )

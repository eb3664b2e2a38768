"""The back end's signing keys: root, voucher issuer, allowlist signer, card issuer; rotation; trust list.

Keys are PKCS#8 PEM files (mode 0600) in `key_dir`, with `keys.json` naming each key's role, validity and
the trust-list sequence. Rotation overlaps: the old key stays in the trust list until its `not_after`,
so tokens and bundles it signed keep verifying during the change-over; new signatures use the new key.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from shared_crypto import KeyRole, SigningKey, TrustedKey, TrustList, VerifyKey, sign_trust_list

from .clock import Clock

ISSUER_ROLES = (KeyRole.VOUCHER_ISSUER, KeyRole.ALLOWLIST_SIGNER, KeyRole.CARD_ISSUER)
KEY_LIFETIME = timedelta(days=400)  # a school year and some margin; rotate yearly
DEFAULT_OVERLAP = timedelta(days=7)  # longer than any token or bundle the old key signed lives
TRUST_LIST_VALIDITY = timedelta(days=30)
META = "keys.json"
UINT32_MAX = 0xFFFFFFFF


@dataclass
class _KeyMeta:
    role: int
    file: str
    nbf: int
    exp: int


class KeyStore:
    def __init__(self, key_dir: Path, clock: Clock) -> None:
        self._dir = Path(key_dir)
        self._clock = clock
        self._lock = threading.Lock()
        self._loaded: dict[str, SigningKey] = {}
        self._tl_cache: tuple[tuple[int, int], bytes] | None = None
        self._meta: list[_KeyMeta] = []
        self._sequence = 0
        self._meta_stamp: tuple[int, int] | None = None
        self._dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self._dir, 0o700)
        # Several processes (server workers, the scheduler) share the directory: the first one to
        # hold the file lock creates the keys, the others read what it wrote.
        with self._lock, self._file_lock():
            self._reload()
            missing = [r for r in (KeyRole.ROOT, *ISSUER_ROLES) if not any(m.role == r for m in self._meta)]
            for role in missing:
                self._add_key(role, self._now())
            if missing:
                self._sequence += 1
                self._write_meta()

    # -- reading ---------------------------------------------------------------------------------

    def signing_key(self, role: KeyRole) -> SigningKey:
        """The newest key of a role, the one new signatures use."""
        now = self._now()
        with self._lock:
            self._refresh()
            # Keys are appended as they are made, so the last one already valid is the newest.
            of_role = [m for m in self._meta if m.role == role]
            valid = [m for m in of_role if m.nbf <= now]
            return self._key((valid or of_role)[-1])

    def root_public(self) -> VerifyKey:
        return self.signing_key(KeyRole.ROOT).public

    @property
    def sequence(self) -> int:
        with self._lock:
            self._refresh()
            return self._sequence

    def trusted_keys(self) -> tuple[TrustedKey, ...]:
        """Issuer keys still within their validity (the old ones during an overlap included)."""
        now = self._now()
        with self._lock:
            self._refresh()
            return tuple(
                TrustedKey(self._key(m).public, KeyRole(m.role), m.nbf, m.exp)
                for m in self._meta
                if m.role != KeyRole.ROOT and m.exp > now
            )

    def trust_list_cose(self) -> bytes:
        """The trust list signed by root. Same bytes for a whole UTC day and sequence (stable ETag)."""
        now = self._now()
        day_start = now - now % 86400
        cache_key = (self.sequence, day_start)
        if self._tl_cache is not None and self._tl_cache[0] == cache_key:
            return self._tl_cache[1]
        tl = TrustList(
            sequence=cache_key[0],
            issued_at=day_start,
            expires_at=day_start + int(TRUST_LIST_VALIDITY.total_seconds()),
            keys=self.trusted_keys(),
        )
        data = sign_trust_list(self.signing_key(KeyRole.ROOT), tl)
        self._tl_cache = (cache_key, data)
        return data

    # -- rotation --------------------------------------------------------------------------------

    def rotate(self, role: KeyRole, overlap: timedelta = DEFAULT_OVERLAP) -> SigningKey:
        """New key for `role`; the old ones end at now + overlap. The trust-list sequence rises."""
        if role is KeyRole.ROOT:
            raise ValueError("the root key is pinned on terminals; it is replaced by re-provisioning")
        now = self._now()
        with self._lock, self._file_lock():
            self._reload()
            end = now + int(overlap.total_seconds())
            for m in self._meta:
                if m.role == role and m.exp > end:
                    m.exp = end
            meta = self._add_key(role, now)
            self._sequence += 1
            self._write_meta()
            return self._key(meta)

    # -- storage ---------------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self._clock.now().timestamp())

    def _add_key(self, role: KeyRole, now: int) -> _KeyMeta:
        key = SigningKey.generate()
        name = f"{role.name.lower()}-{key.kid.hex()}.pem"
        key.save(self._dir / name)
        # The root never expires by date: it is replaced only by re-provisioning terminals.
        exp = UINT32_MAX if role is KeyRole.ROOT else now + int(KEY_LIFETIME.total_seconds())
        meta = _KeyMeta(role=int(role), file=name, nbf=now, exp=min(exp, UINT32_MAX))
        self._meta.append(meta)
        self._loaded[name] = key
        return meta

    def _key(self, meta: _KeyMeta) -> SigningKey:
        key = self._loaded.get(meta.file)
        if key is None:
            key = SigningKey.load(self._dir / meta.file)
            self._loaded[meta.file] = key
        return key

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        fd = os.open(self._dir / "keys.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _refresh(self) -> None:
        """Re-read keys.json if another process rotated a key since we last read it."""
        try:
            st = (self._dir / META).stat()
        except FileNotFoundError:
            return
        stamp = (st.st_ino, st.st_mtime_ns)  # os.replace gives a new inode: no same-tick ambiguity
        if stamp != self._meta_stamp:
            self._reload()

    def _reload(self) -> None:
        path = self._dir / META
        if not path.exists():
            self._meta, self._sequence, self._meta_stamp = [], 0, None
            return
        st = path.stat()
        self._meta_stamp = (st.st_ino, st.st_mtime_ns)
        raw = json.loads(path.read_text())
        self._meta = [_KeyMeta(**m) for m in raw["keys"]]
        self._sequence = int(raw["sequence"])

    def _write_meta(self) -> None:
        path = self._dir / META
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"sequence": self._sequence, "keys": [asdict(m) for m in self._meta]}))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        st = path.stat()
        self._meta_stamp = (st.st_ino, st.st_mtime_ns)


def main(argv: list[str] | None = None) -> int:
    """`python -m backend.keys show | rotate <role>` against SM_KEY_DIR."""
    import argparse

    from .clock import SystemClock
    from .config import Settings

    parser = argparse.ArgumentParser(prog="python -m backend.keys", description=main.__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("show", help="root fingerprint, trust-list sequence and the trusted issuer keys")
    rot = sub.add_parser("rotate", help="new key for a role; the old one stays trusted for the overlap")
    rot.add_argument("role", choices=[r.name.lower() for r in ISSUER_ROLES])
    rot.add_argument("--overlap-days", type=int, default=DEFAULT_OVERLAP.days)
    args = parser.parse_args(argv)
    store = KeyStore(Settings.from_env().key_dir, SystemClock())
    if args.cmd == "rotate":
        key = store.rotate(KeyRole[args.role.upper()], timedelta(days=args.overlap_days))
        print(f"new {args.role} key {key.kid.hex()}; trust list sequence {store.sequence}")
        return 0
    print(f"root {store.root_public().kid.hex()}  trust list sequence {store.sequence}")
    for k in store.trusted_keys():
        print(f"{k.role.name.lower():18} {k.kid.hex()}  valid {k.nbf}..{k.exp}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Enrolment: the terminal's own key, the one-time code, the pinned root key, first trust list and allowlist.

Nothing is written to the config until the root key's fingerprint matches the enrolment sheet and both the
trust list and the allowlist verify under it: a half-enrolled terminal never starts serving.
"""

from __future__ import annotations

import os
import socket
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from device import SOFTWARE_VERSION
from device.allowlist_store import ALLOWLIST_FILE, TRUST_LIST_FILE  # where the core reads them
from device.config import DeviceConfig
from device.hw.config import HardwareConfig
from shared_crypto import (
    DeviceAuth,
    SigningKey,
    TrustStore,
    VerificationError,
    sign_device_auth,
    verify_bundle,
    verify_trust_list,
)
from shared_crypto.errors import Reason
from shared_crypto.keys import VerifyKey

from .config import tuned_rules, write_config
from .errors import Problem, ProvisioningError
from .progress import Progress

API = "/api/terminal/v1"
KEY_FILE = "device_key.pem"
ROOT_KEY_FILE = "root_key.pub"  # raw 32 bytes
LEEWAY = 300


@dataclass(frozen=True, slots=True)
class Enrolment:
    terminal_id: int
    school_id: int
    canteen_id: int
    root_key: VerifyKey


def load_or_create_key(path: Path) -> tuple[SigningKey, bool]:
    """The terminal's Ed25519 key: made here, mode 0600, never sent anywhere. Reused on re-enrolment."""
    if path.exists():
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise ProvisioningError(
                Problem.KEY,
                f"{path} is readable by others",
                f"chmod 600 {path}, or delete it to make a new key",
            )
        try:
            return SigningKey.load(path), False
        except ValueError as e:
            raise ProvisioningError(
                Problem.KEY, f"{path} is not an Ed25519 key ({e})", f"delete {path} and enrol again"
            ) from e
    key = SigningKey.generate()
    key.save(path)  # created 0600 with O_EXCL: no window where it is readable
    return key, True


def _answer(resp: httpx.Response, what: str) -> None:
    if resp.status_code < 400:
        return
    try:
        reason = str(resp.json().get("reason", ""))
    except ValueError:
        reason = ""
    detail = f"{what}: HTTP {resp.status_code} {reason}".strip()
    if resp.status_code in (400, 404, 409, 410) and what == "enrolment":
        raise ProvisioningError(
            Problem.CODE_REJECTED,
            detail,
            "the code is wrong, used or older than 10 minutes: ask the admin for a new one",
        )
    if resp.status_code in (401, 403):
        raise ProvisioningError(
            Problem.AUTH, detail, "the terminal is not (or no longer) enrolled: enrol again with a new code"
        )
    raise ProvisioningError(
        Problem.SERVER, detail, "try again in a minute; if it persists, call the back-end on-call"
    )


def _clock_refusal(resp: httpx.Response) -> int | None:
    """The server's time from a 401 that refused the token's time (NOT_YET_VALID / EXPIRED), else None."""
    if resp.status_code != 401:
        return None
    try:
        body = resp.json()
        if body.get("reason") in (Reason.NOT_YET_VALID.value, Reason.EXPIRED.value):
            return int(body["server_time"])
    except (ValueError, KeyError, TypeError, AttributeError):
        pass  # not the contract's answer: reported as AUTH by _answer
    return None


class EnrolClient:
    def __init__(self, http: httpx.Client, *, now: Callable[[], float] = time.time) -> None:
        self._http = http
        self._now = now
        self.clock_offset_s: int | None = None  # server minus local time, when a token was refused for it

    def _call(self, method: str, path: str, what: str, *, check: bool = True, **kw: Any) -> httpx.Response:
        try:
            resp = self._http.request(method, API + path, **kw)
        except httpx.HTTPError as e:
            raise ProvisioningError(
                Problem.NETWORK,
                f"cannot reach the server for {what} ({e})",
                "check the network cable/Wi-Fi and the --server URL",
            ) from e
        if check:
            _answer(resp, what)
        return resp

    def enrol(self, code: str, key: SigningKey) -> Enrolment:
        resp = self._call(
            "POST",
            "/enrol",
            "enrolment",
            json={
                "code": code,
                "public_key": key.public.raw.hex(),
                "hostname": socket.gethostname(),
                "software_version": SOFTWARE_VERSION,
            },
        )
        try:
            body = resp.json()
            root = VerifyKey(bytes.fromhex(body["root_public_key"]))
            return Enrolment(int(body["terminal_id"]), int(body["school_id"]), int(body["canteen_id"]), root)
        except (ValueError, KeyError, TypeError) as e:
            raise ProvisioningError(
                Problem.BAD_RESPONSE,
                f"enrolment answer not understood ({e})",
                "check --server points at the back end",
            ) from e

    def fetch(self, path: str, what: str, key: SigningKey, terminal_id: int) -> bytes:
        """GET a signed object with a device-auth token. A 401 for a token the server finds too old or too
        new (this clock is off) is signed again once at the server's time, as docs/terminal-api.md says;
        that time is used for the token only, never trusted for anything else."""

        def attempt(iat: int) -> httpx.Response:
            token = sign_device_auth(key, DeviceAuth(terminal_id, f"GET {API}{path}", iat))
            return self._call("GET", path, what, headers={"X-SW-Device-Auth": token}, check=False)

        local = int(self._now())
        resp = attempt(local)
        server_time = _clock_refusal(resp)
        if server_time is not None:
            self.clock_offset_s = server_time - local
            resp = attempt(server_time)
        _answer(resp, what)
        return resp.content


def _verification_failed(e: VerificationError, what: str, problem: Problem) -> ProvisioningError:
    if e.reason in (Reason.EXPIRED, Reason.NOT_YET_VALID, Reason.KEY_NOT_VALID):
        return ProvisioningError(
            Problem.CLOCK,
            f"{what}: {e}",
            "the clock is wrong: connect to the network, `timedatectl set-ntp true`, retry",
        )
    return ProvisioningError(
        problem, f"{what} does not verify: {e}", "do not use this terminal; report it to the admin"
    )


def _write_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def enrol_terminal(
    client: EnrolClient,
    *,
    server_url: str,
    code: str,
    root_fingerprint: str,
    data_dir: Path,
    config_path: Path,
    timezone: str,
    hardware: HardwareConfig,
    progress: Progress,
    now: Callable[[], float] = time.time,
) -> DeviceConfig:
    progress.step("terminal key")
    data_dir.mkdir(parents=True, exist_ok=True)
    key, made = load_or_create_key(data_dir / KEY_FILE)
    progress.note(f"{'new' if made else 'existing'} key {key.kid.hex()} (stays on this device)")

    progress.step("enrolling with the one-time code")
    enrolment = client.enrol(code.strip(), key)
    fingerprint = enrolment.root_key.kid.hex()
    if fingerprint != root_fingerprint.strip().lower().replace(" ", ""):
        raise ProvisioningError(
            Problem.ROOT_MISMATCH,
            f"server root key {fingerprint} differs from the enrolment sheet's {root_fingerprint}",
            "stop: wrong server or an interception; check --server and call the admin",
        )
    progress.note(
        f"terminal {enrolment.terminal_id}, school {enrolment.school_id}, canteen {enrolment.canteen_id}"
    )

    progress.step("fetching and verifying the trust list")
    tl_bytes = client.fetch("/trust-list", "trust list", key, enrolment.terminal_id)
    try:
        tl = verify_trust_list(tl_bytes, enrolment.root_key, now=int(now()), leeway=LEEWAY)
    except VerificationError as e:
        raise _verification_failed(e, "trust list", Problem.TRUST_LIST) from e
    progress.note(f"trust list #{tl.sequence}, {len(tl.keys)} keys")
    if client.clock_offset_s is not None:
        off = client.clock_offset_s
        progress.note(
            f"warning: this clock is {abs(off)} s {'behind' if off > 0 else 'ahead of'} the server's; "
            "`timedatectl set-ntp true` (the self-test checks NTP)"
        )

    progress.step("fetching and verifying the allowlist")
    al_bytes = client.fetch("/allowlist", "allowlist", key, enrolment.terminal_id)
    try:
        bundle = verify_bundle(
            al_bytes, TrustStore(tl.keys), school_id=enrolment.school_id, now=int(now()), leeway=LEEWAY
        )
    except VerificationError as e:
        raise _verification_failed(e, "allowlist", Problem.ALLOWLIST) from e
    progress.note(f"allowlist #{bundle.sequence}, {len(bundle.entries)} pupils")

    progress.step(f"writing the config to {config_path}")
    _write_file(data_dir / ROOT_KEY_FILE, enrolment.root_key.raw)
    _write_file(data_dir / TRUST_LIST_FILE, tl_bytes)
    _write_file(data_dir / ALLOWLIST_FILE, al_bytes)
    cfg = DeviceConfig(
        server_url=server_url,
        terminal_id=enrolment.terminal_id,
        school_id=enrolment.school_id,
        canteen_id=enrolment.canteen_id,
        data_dir=data_dir,
        key_file=data_dir / KEY_FILE,
        root_key_file=data_dir / ROOT_KEY_FILE,
        timezone=timezone,
        rules=tuned_rules(config_path),
        hardware=hardware,
    )
    write_config(config_path, cfg)
    return cfg

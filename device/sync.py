"""Sync with the back end (docs/terminal-api.md): trust list, signed time, allowlist, upload, health.

Each request carries the device auth token (DeviceAuthFlow). One round (`SyncClient.sync_once`) runs
every step and collects failures instead of stopping at the first: an unreachable allowlist must not
hold up the upload. Everything fetched is verified before use (AllowlistStore, TrustedClock), and the
serving path never waits for any of it: SyncWorker runs rounds in a background thread.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import httpx

from shared_crypto import DeviceAuth, SigningKey, VerificationError, sign_device_auth, verify_time
from shared_crypto.device_auth import HEADER, NONCE_LEN

from .allowlist_store import AllowlistStore
from .clock import TrustedClock
from .journal import Journal, JournalError
from .uploader import Uploader, UploadError, UploadReport

log = logging.getLogger(__name__)
API = "/api/terminal/v1"
CLOCK_REASONS = frozenset({"NOT_YET_VALID", "EXPIRED"})


class DeviceAuthFlow(httpx.Auth):
    """Signs `X-SW-Device-Auth` for each request's method and path. A 401 saying our clock is off is
    answered by signing once more with the server's time (which is not taken as trusted time)."""

    requires_response_body = True

    def __init__(self, key: SigningKey, terminal_id: int, now_s: Callable[[], int]) -> None:
        self._key = key
        self._terminal_id = terminal_id
        self._now_s = now_s
        self.answers = 0  # responses of any status: the server was reached (online, for the kiosk)

    def _sign(self, request: httpx.Request, iat: int) -> None:
        line = f"{request.method} {request.url.path}"
        request.headers[HEADER] = sign_device_auth(self._key, DeviceAuth(self._terminal_id, line, iat))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._sign(request, self._now_s())
        response = yield request
        self.answers += 1
        if response.status_code != 401:
            return
        try:
            body = response.json()
        except ValueError:
            return
        if not isinstance(body, dict):
            return
        server_time = body.get("server_time")
        if body.get("reason") in CLOCK_REASONS and type(server_time) is int and server_time > 0:
            self._sign(request, server_time)
            yield request


@dataclass(slots=True)
class SyncReport:
    trust_list_changed: bool | None = None
    allowlist_changed: bool | None = None
    clock_offset_s: float | None = None
    upload: UploadReport | None = None
    pruned: int = 0
    health_sent: bool = False
    reached_server: bool = False  # any request of the round got an answer, whatever its status
    errors: dict[str, str] = field(default_factory=dict)  # step → what went wrong

    @property
    def ok(self) -> bool:
        return not self.errors


class SyncClient:
    def __init__(
        self,
        *,
        terminal_id: int,
        key: SigningKey,
        store: AllowlistStore,
        clock: TrustedClock,
        journal: Journal,
        uploader: Uploader,
        leeway_s: int,
        prune_after_days: int,
        software_version: str,
        faults: Callable[[], list[str]] = list,
    ) -> None:
        self.store = store
        self.clock = clock
        self.journal = journal
        self.uploader = uploader
        self._leeway = leeway_s
        self._prune_ms = prune_after_days * 86_400_000
        self._version = software_version
        self._faults = faults
        self.auth = DeviceAuthFlow(key, terminal_id, self._auth_time)
        self._etags: dict[str, str] = {}
        self.last_sync: int | None = None
        self.clock_offset_s: float | None = None
        self._lock = threading.Lock()  # one round at a time (background worker and an explicit call)

    def _auth_time(self) -> int:
        return self.clock.read().unix_s  # untrusted or unknown time is still the best guess for iat

    def _now(self) -> int | None:
        reading = self.clock.read()
        return reading.unix_s if reading.usable else None

    def fetch_trust_list(self, client: httpx.Client) -> bool:
        return self._fetch(client, "trust-list", self.store.install_trust_list)

    def fetch_allowlist(self, client: httpx.Client) -> bool:
        return self._fetch(client, "allowlist", self.store.install_bundle)

    def _fetch(self, client: httpx.Client, name: str, install: Callable[[bytes, int | None], bool]) -> bool:
        headers = {"Accept": "application/cose", "Accept-Encoding": "gzip"}
        if name in self._etags:
            headers["If-None-Match"] = self._etags[name]
        resp = client.get(f"{API}/{name}", headers=headers, auth=self.auth)
        if resp.status_code == 304:
            return False
        resp.raise_for_status()
        changed = install(resp.content, self._now())  # VerificationError: rejected, the held one stays
        etag = resp.headers.get("ETag")
        if etag:
            self._etags[name] = etag  # only for what we now hold
        return changed

    def fetch_time(self, client: httpx.Client) -> float:
        """Anchor the trusted clock to a signed, nonce-bound server time; returns its offset from the
        system clock in seconds."""
        nonce = os.urandom(NONCE_LEN)
        resp = client.post(
            f"{API}/time",
            content=nonce,
            headers={"Content-Type": "application/octet-stream"},
            auth=self.auth,
        )
        resp.raise_for_status()
        server = verify_time(resp.content, self.store.trust, nonce=nonce, leeway=self._leeway)
        offset = server - self.clock.source.wall()
        self.clock.set_trusted(server)
        self.clock_offset_s = offset
        return offset

    def upload(self, client: httpx.Client) -> UploadReport:
        return self.uploader.upload(client, self.auth)

    def post_health(self, client: httpx.Client) -> None:
        try:
            backlog = self.journal.pending_count()
        except JournalError:
            backlog = -1
        try:
            free = shutil.disk_usage(self.journal.path.parent).free
        except OSError:
            free = 0
        resp = client.post(
            f"{API}/health",
            json={
                "last_sync": self.last_sync,
                "backlog": max(backlog, 0),
                "clock_offset_s": self.clock_offset_s,
                "software_version": self._version,
                "faults": self._faults() + (["JOURNAL_UNREADABLE"] if backlog < 0 else []),
                "disk_free_bytes": free,
            },
            auth=self.auth,
        )
        resp.raise_for_status()

    def sync_once(self, client: httpx.Client) -> SyncReport:
        with self._lock:
            report = SyncReport()
            answers = self.auth.answers
            steps: list[tuple[str, Callable[[], None]]] = [
                ("trust-list", lambda: setattr(report, "trust_list_changed", self.fetch_trust_list(client))),
                ("time", lambda: setattr(report, "clock_offset_s", self.fetch_time(client))),
                ("allowlist", lambda: setattr(report, "allowlist_changed", self.fetch_allowlist(client))),
                ("upload", lambda: setattr(report, "upload", self.upload(client))),
                ("prune", lambda: setattr(report, "pruned", self._prune())),
            ]
            for name, step in steps:
                try:
                    step()
                except (httpx.HTTPError, VerificationError, UploadError, JournalError, OSError) as e:
                    report.errors[name] = f"{type(e).__name__}: {e}"
                    log.warning("sync step %s failed: %s", name, report.errors[name])
                    if isinstance(e, UploadError):
                        report.upload = e.report
            if "allowlist" not in report.errors and "upload" not in report.errors:
                self.last_sync = self.clock.read().unix_s
            try:
                self.post_health(client)
                report.health_sent = True
            except httpx.HTTPError as e:
                report.errors["health"] = f"{type(e).__name__}: {e}"
            report.reached_server = self.auth.answers > answers
            return report

    def _prune(self) -> int:
        reading = self.clock.read()
        if not reading.trusted:
            return 0  # an untrusted clock could prune too much; wait for trusted time
        return self.journal.prune(reading.wall_ms - self._prune_ms)


class SyncWorker:
    """Runs `sync_round` every `interval_s` in a daemon thread until stopped; never lets it raise."""

    def __init__(self, sync_round: Callable[[], object], interval_s: float) -> None:
        self._round = sync_round
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sync", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._round()
            except Exception:  # a bug in one round must not end syncing for good
                log.exception("sync round failed")
            self._stop.wait(self._interval)

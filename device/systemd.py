"""systemd service notifications (sd_notify) and the service watchdog, without libsystemd.

The protocol is one datagram of newline-separated `KEY=value` fields to the AF_UNIX socket named by
$NOTIFY_SOCKET (a leading "@" means the abstract namespace). systemd sets that variable for a
`Type=notify` unit, and $WATCHDOG_USEC (with $WATCHDOG_PID) when the unit has `WatchdogSec=`.
Outside systemd (tests, the simulator, a shell) every call is a no-op. Nothing here raises into
serving: a failed send is logged once and serving goes on.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)
STATUS_PERIOD_S = 15.0  # STATUS refresh when systemd runs no service watchdog
STOP_JOIN_S = 5.0


def notify_address(environ: Mapping[str, str]) -> str | None:
    """The socket address $NOTIFY_SOCKET names, or None when unset or of a kind we cannot reach."""
    raw = environ.get("NOTIFY_SOCKET", "")
    if raw.startswith("@"):
        return "\0" + raw[1:]  # abstract namespace: Python takes it as a leading NUL
    if raw.startswith("/"):
        return raw
    if raw:
        log.warning("NOTIFY_SOCKET %r is neither a path nor an abstract name; not notifying systemd", raw)
    return None


def watchdog_period_s(environ: Mapping[str, str], pid: int) -> float | None:
    """How often to send WATCHDOG=1 (half of WatchdogSec, as sd_watchdog_enabled advises), or None when
    the service watchdog is off or meant for another process."""
    usec = environ.get("WATCHDOG_USEC")
    if not usec:
        return None
    owner = environ.get("WATCHDOG_PID")
    if owner and owner != str(pid):
        return None
    try:
        value = int(usec)
    except ValueError:
        value = 0
    if value <= 0:
        log.warning("WATCHDOG_USEC %r is not a positive integer; service watchdog off", usec)
        return None
    return value / 2_000_000


class Notifier:
    """Sends sd_notify messages; a no-op without an address."""

    def __init__(self, address: str | None) -> None:
        self.address = address
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()  # the serving thread and the watchdog thread both send
        self._failing = False  # log a failing socket once, and its recovery once

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        return cls(notify_address(os.environ if environ is None else environ))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *fields: str) -> bool:
        """Send `KEY=value` fields in one datagram; True if it was sent."""
        if self.address is None:
            return False
        message = "\n".join(f.replace("\n", " ") for f in fields).encode("utf-8", "replace")
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.sendto(message, self.address)
            except OSError as e:
                if not self._failing:
                    log.error("systemd notify to %r failed: %s", self.address, e)
                    self._failing = True
                return False
            if self._failing:
                log.info("systemd notify works again")
                self._failing = False
            return True

    def ready(self, status: str) -> bool:
        # systemd arms WatchdogSec= from here; until then TimeoutStartSec= bounds the start.
        return self.notify("READY=1", f"STATUS={status}")

    def status(self, status: str) -> bool:
        return self.notify(f"STATUS={status}")

    def ping(self, status: str) -> bool:
        return self.notify("WATCHDOG=1", f"STATUS={status}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1", "STATUS=stopping")

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


class ServiceWatchdog:
    """READY=1 once serving runs, then every period WATCHDOG=1 with the status while `stalled()` names no
    stalled loop; else only a STATUS naming them, so that systemd restarts a terminal whose serving hung.

    `stalled` returns the serving loops that made no progress since its previous call; `status` the
    standing state and faults. A callback that raises counts as stalled. With `period_s` None (no
    WatchdogSec) it never pings and only refreshes the STATUS every STATUS_PERIOD_S."""

    def __init__(
        self,
        notifier: Notifier,
        period_s: float | None,
        *,
        stalled: Callable[[], list[str]],
        status: Callable[[], str],
    ) -> None:
        self.notifier = notifier
        self.pinging = period_s is not None
        self.period_s = STATUS_PERIOD_S if period_s is None else period_s
        self._stalled = stalled
        self._status = status
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> bool:
        """One check; True if it pinged."""
        try:
            stalled = self._stalled()
            status = self._status()
        except Exception:
            log.exception("service watchdog check")
            self.notifier.status("watchdog check failed")
            return False
        if not self.pinging:
            self.notifier.status(status)
            return False
        if stalled:
            names = ", ".join(stalled)
            log.error("serving stalled (%s): no watchdog ping, systemd will restart the terminal", names)
            self.notifier.status(f"STALLED {names}; {status}")
            return False
        return self.notifier.ping(status)

    def start(self) -> None:
        """Tell systemd the service is ready, then check every period on a thread."""
        if not self.notifier.enabled:
            return
        try:
            status = self._status()
        except Exception:
            log.exception("service status")
            status = "serving"
        self.notifier.ready(status)

        def run() -> None:
            while not self._stop.wait(self.period_s):
                self.tick()

        self._thread = threading.Thread(target=run, name="sd-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """No more checks, then STOPPING=1."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(STOP_JOIN_S)  # bounded: a check stuck in a hung driver must not block shutdown
            self._thread = None
        self.notifier.stopping()

"""sd_notify and the service watchdog, against a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import os
import signal
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import numpy.typing as npt
import pytest

import device.hw.config as hw_config
from device.__main__ import main
from device.hw.decoders import make_decoder
from device.interfaces import CardRead
from device.serve import CAMERA_LOOP, CARD_LOOP, Heartbeat, serve
from device.sim import scenario
from device.sim.indicator import PrintingIndicator
from device.systemd import Notifier, ServiceWatchdog, notify_address, watchdog_period_s

from .conftest import Rig

STATUS = "standing IDLE; faults none"
WAIT_S = 10.0  # only a bound on a hung test; no assertion depends on it


class Listener:
    """systemd's end: a bound datagram socket and what arrived on it."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(WAIT_S)

    def next(self) -> list[str]:
        return self.sock.recv(4096).decode().split("\n")

    def pending(self) -> list[list[str]]:
        """Every datagram already queued, without waiting."""
        out = []
        self.sock.setblocking(False)
        try:
            while True:
                out.append(self.sock.recv(4096).decode().split("\n"))
        except BlockingIOError:
            return out
        finally:
            self.sock.settimeout(WAIT_S)


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    got = Listener(str(tmp_path / "notify.sock"))
    yield got
    got.sock.close()


@pytest.fixture
def notifier(listener: Listener) -> Iterator[Notifier]:
    n = Notifier.from_env({"NOTIFY_SOCKET": listener.sock.getsockname()})
    yield n
    n.close()


def test_messages_reach_the_socket(listener: Listener, notifier: Notifier) -> None:
    assert notifier.enabled and notifier.ready(STATUS)
    assert listener.next() == ["READY=1", f"STATUS={STATUS}"]
    assert notifier.ping("standing WARNING; faults NFC_TIMEOUT\nsecond line")
    assert listener.next() == ["WATCHDOG=1", "STATUS=standing WARNING; faults NFC_TIMEOUT second line"]
    assert notifier.stopping()
    assert listener.next() == ["STOPPING=1", "STATUS=stopping"]


def test_abstract_namespace_address() -> None:
    name = f"sm-test-{uuid.uuid4().hex}"
    assert notify_address({"NOTIFY_SOCKET": f"@{name}"}) == f"\0{name}"
    got = Listener(f"\0{name}")
    try:
        n = Notifier.from_env({"NOTIFY_SOCKET": f"@{name}"})
        assert n.status(STATUS)
        assert got.next() == [f"STATUS={STATUS}"]
        n.close()
    finally:
        got.sock.close()


def test_unset_socket_is_a_no_op() -> None:
    n = Notifier.from_env({})
    assert not n.enabled and not n.ready(STATUS) and not n.ping(STATUS) and not n.stopping()
    wd = ServiceWatchdog(n, 0.001, stalled=list, status=lambda: STATUS)
    wd.start()
    assert "sd-watchdog" not in {t.name for t in threading.enumerate()}
    wd.stop()
    assert notify_address({"NOTIFY_SOCKET": "relative/path"}) is None  # not a form systemd uses


def test_a_gone_socket_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    n = Notifier.from_env({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert n.enabled
    assert not n.ping(STATUS) and not n.ping(STATUS)
    assert len([r for r in caplog.records if "failed" in r.message]) == 1  # logged once, not per ping


def test_watchdog_period_from_the_environment() -> None:
    pid = os.getpid()
    assert watchdog_period_s({"WATCHDOG_USEC": "30000000"}, pid) == 15.0
    assert watchdog_period_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(pid)}, pid) == 15.0
    assert watchdog_period_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(pid + 1)}, pid) is None
    assert watchdog_period_s({}, pid) is None
    assert watchdog_period_s({"WATCHDOG_USEC": "soon"}, pid) is None
    assert watchdog_period_s({"WATCHDOG_USEC": "0"}, pid) is None


def test_a_stalled_loop_stops_the_pings(listener: Listener, notifier: Notifier) -> None:
    beats = Heartbeat()
    assert beats.stalled() == ["no serving loop"]  # nothing serves yet: no ping
    beats.register(CAMERA_LOOP)
    beats.register(CARD_LOOP)
    wd = ServiceWatchdog(notifier, 15.0, stalled=beats.stalled, status=lambda: STATUS)
    assert not wd.tick()  # nothing has beaten yet
    assert listener.next() == [f"STATUS=STALLED camera, nfc; {STATUS}"]
    beats.beat(CAMERA_LOOP)
    beats.beat(CARD_LOOP)
    assert wd.tick()
    assert listener.next() == ["WATCHDOG=1", f"STATUS={STATUS}"]
    beats.beat(CAMERA_LOOP)  # the card loop hangs
    assert not wd.tick()
    assert listener.next() == [f"STATUS=STALLED nfc; {STATUS}"]
    beats.beat(CARD_LOOP)  # it moves again
    beats.beat(CAMERA_LOOP)
    assert wd.tick()
    assert listener.next()[0] == "WATCHDOG=1"


def test_a_failing_status_check_is_no_ping(listener: Listener, notifier: Notifier) -> None:
    def broken() -> str:
        raise OSError("disk gone")

    wd = ServiceWatchdog(notifier, 15.0, stalled=list, status=broken)
    assert not wd.tick()
    assert listener.next() == ["STATUS=watchdog check failed"]


def test_without_watchdog_only_the_status_is_sent(listener: Listener, notifier: Notifier) -> None:
    wd = ServiceWatchdog(notifier, None, stalled=list, status=lambda: STATUS)
    assert not wd.pinging and not wd.tick()
    assert listener.next() == [f"STATUS={STATUS}"]


def test_a_hung_camera_in_serve_stops_the_pings(rig: Rig, listener: Listener, notifier: Notifier) -> None:
    hung, release = threading.Event(), threading.Event()
    polls = 0
    polled = threading.Condition()

    class HangingCamera:
        frames = 3

        def read(self) -> npt.NDArray[np.uint8]:
            if self.frames:
                self.frames -= 1
                return np.zeros((64, 64), dtype=np.uint8)
            hung.set()
            release.wait()  # a driver call that never returns
            raise StopIteration

    class IdleReader:
        def poll(self) -> CardRead | None:
            nonlocal polls
            with polled:
                polls += 1
                polled.notify_all()
            return None

    beats = Heartbeat()
    # The test ticks by hand; the thread's own first tick is far beyond the test.
    wd = ServiceWatchdog(notifier, 600.0, stalled=beats.stalled, status=lambda: STATUS)
    stop = threading.Event()
    args = {"camera": HangingCamera(), "decoder": make_decoder("zxing"), "reader": IdleReader()}
    kwargs = {"stop": stop, "report": lambda v: None, "heartbeat": beats, "started": wd.start}
    serving = threading.Thread(target=serve, args=(rig.terminal,), kwargs={**args, **kwargs})
    serving.start()
    try:
        assert listener.next() == ["READY=1", f"STATUS={STATUS}"]
        assert hung.wait(WAIT_S)
        assert wd.tick()  # both loops beat since they started
        assert listener.next()[0] == "WATCHDOG=1"
        with polled:
            seen = polls
            # two more polls: the card loop has beaten since that tick (its beat precedes each poll)
            assert polled.wait_for(lambda: polls >= seen + 2, WAIT_S)
        assert not wd.tick()
        assert listener.next() == [f"STATUS=STALLED camera; {STATUS}"]
    finally:
        stop.set()
        release.set()
        serving.join()
        wd.stop()
    assert listener.next() == ["STOPPING=1", "STATUS=stopping"]


@pytest.mark.usefixtures("pi_like")
def test_the_real_run_notifies_systemd(rig: Rig, listener: Listener, monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m device run` under systemd: READY=1 with the standing state once serving, STOPPING=1 on SIGTERM."""

    class Camera:
        def read(self) -> npt.NDArray[np.uint8]:
            raise StopIteration

        def close(self) -> None:
            pass

    class Reader:
        fault = None

        def poll(self) -> CardRead | None:
            os.kill(os.getpid(), signal.SIGTERM)
            return None

    class Indicator(PrintingIndicator):
        def close(self) -> None:
            pass

    hw = SimpleNamespace(camera=Camera(), decoder=make_decoder("zxing"), nfc=Reader(), indicator=Indicator())
    monkeypatch.setattr(hw_config, "build", lambda cfg: hw)
    monkeypatch.setenv("NOTIFY_SOCKET", listener.sock.getsockname())
    monkeypatch.setenv("WATCHDOG_USEC", "600000000")  # no tick within the test: the messages are fixed
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    cfg_file = rig.data_dir / "terminal.toml"
    toml = scenario.config_toml(rig.terminal.cfg).replace("http://backend.test", "http://127.0.0.1:9")
    cfg_file.write_text(toml + '[hardware]\ndecoder = "zxing"\n')
    rig.terminal.close()
    assert main(["run", "--config", str(cfg_file)]) == 0
    ready, stopping = listener.pending()
    assert ready[0] == "READY=1"
    assert ready[1].startswith("STATUS=standing ") and "; faults " in ready[1]
    assert stopping == ["STOPPING=1", "STATUS=stopping"]

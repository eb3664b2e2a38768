"""`make serve`'s program end to end: `python -m demo.serve` on a temporary SQLite database migrates,
seeds the demo district, prints the sign-ins and answers over HTTP on SM_PORT; `/` is the sign-in page
in the visitor's language, and a demo parent signs in with the code it printed as an SMS."""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from demo import data as D
from demo.serve import prepare

MOTHER = "+77011110002"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc, self.url = proc, url
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        for line in self.seen:
            if found := re.search(pattern, line):
                return found
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found
        raise AssertionError(f"no line matching {pattern!r}; got {self.seen}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    port = _free_port()
    env = {
        **os.environ,
        "SM_SERVE_DIR": str(tmp_path / "serve"),
        "SM_PORT": str(port),
        "SM_SERVE_WORKER_SECONDS": "0.5",
    }
    env.pop("SM_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "demo.serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    s = Served(proc, f"http://127.0.0.1:{port}")
    try:
        yield s
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, html[:500]
    return found.group(1)


def _get(client: httpx.Client, path: str, deadline: float = 30) -> httpx.Response:
    end = time.monotonic() + deadline
    while True:
        try:
            return client.get(path)
        except httpx.ConnectError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def test_serve_seeds_prints_sign_ins_and_answers(served: Served, tmp_path: Path) -> None:
    served.wait_for(r"API explorer: http://127\.0\.0\.1:\d+/docs")
    text = "\n".join(served.seen)
    # every demo parent with a phone and every staff account is told how to sign in
    for fam in D.FAMILIES:
        assert (fam.phone or "no phone on record") in text
    for login, role in D.STAFF:
        assert re.search(rf"{role.value}\s+login {re.escape(login)}\s", text), login
    assert D.PASSWORD in text

    for lang, title in (("ru", "Войти"), ("en", "Sign in"), ("kk", "Кіру")):
        with httpx.Client(base_url=served.url, headers={"Accept-Language": f"{lang},en;q=0.1"}) as c:
            page = _get(c, "/")
            assert page.status_code == 200
            assert f'<html lang="{lang}">' in page.text
            assert f"<title>{title}" in page.text
            assert 'action="/sign-in"' in page.text

    # the mother signs in with the code the console printed as her SMS, and sees her three children
    with httpx.Client(base_url=served.url, headers={"Accept-Language": "en"}) as c:
        csrf = _csrf(c.get("/").text)
        asked = c.post("/sign-in", data={"csrf": csrf, "phone": MOTHER})
        assert asked.status_code == 303
        code = served.wait_for(rf"SMS to {re.escape(MOTHER)}: .*?\b(\d{{6}})\b").group(1)
        page = c.get("/sign-in/code")
        signed = c.post("/sign-in/code", data={"csrf": _csrf(page.text), "code": code})
        assert signed.status_code == 303 and signed.headers["location"] == "/children"
        children = c.get("/children")
        assert children.status_code == 200
        assert children.text.count('href="/child/') >= 3
        # she agrees in the app; the worker beside the server puts the outcome in her notices
        page = c.get("/consent")
        assert c.post("/consent", data={"csrf": _csrf(page.text), "answer": "agree"}).status_code == 303
        deadline = time.monotonic() + 30
        while "You agreed to the meals" not in c.get("/notifications").text:
            assert time.monotonic() < deadline, "the worker did not deliver the notice"
            time.sleep(0.2)
    assert (tmp_path / "serve" / "backend.db").exists()


def test_second_start_keeps_the_seeded_district(tmp_path: Path) -> None:
    env = {"SM_SERVE_DIR": str(tmp_path)}
    first = prepare(tmp_path, env, lambda _line: None)
    school = first.district.school_id
    first.app.state.ctx.engine.dispose()
    again = prepare(tmp_path, env, lambda _line: None)
    assert again.district.school_id == school
    from sqlalchemy import func, select

    from backend.roster.tables import School

    with again.app.state.ctx.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(School)) == 1
    again.app.state.ctx.engine.dispose()

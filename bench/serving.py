"""What the benches that drive the real server share: a fresh PostgreSQL database, uvicorn in its own
processes (uvloop and httptools, as `python -m backend serve` runs it), the CPU of those processes and
of PostgreSQL's backends read from /proc, and the load loop of many keep-alive clients.

The load client is a minimal HTTP/1.1 client on asyncio streams, not httpx: it shares the two cores with
the server, and httpx's per-request cost (about 0.3 ms) would be a large part of what is measured."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from demo import data as D

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TICK = os.sysconf("SC_CLK_TCK")


def pg_base_url() -> str:
    return os.environ.get("SM_TEST_POSTGRES_URL", DEFAULT_PG)


def fresh_database(prefix: str) -> tuple[str, Callable[[], None]] | None:
    """A new empty database (SQLAlchemy URL) and the function that drops it; None when PostgreSQL is
    unreachable."""
    base = pg_base_url()
    admin = base.replace("+psycopg", "")
    try:
        psycopg.connect(admin, connect_timeout=3).close()
    except psycopg.OperationalError:
        return None
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{base.rsplit('/', 1)[0]}/{name}", drop


def demo_families(n: int, tag: str = "bench", phones: str = "+7701222") -> list[D.Family]:
    """`n` demo families of one grade-2 child each, named by `tag`, phones `phones` + 4 digits."""
    return [
        D.Family(
            f"{tag}{i}", f"Ата-ана {i}", f"{phones}{i:04d}", "mother",
            (D.Child(f"{tag}-child{i}", f"Бала {i} Бекұлы", 2, "2Б"),), None,
        )
        for i in range(n)
    ]  # fmt: skip


def write_results(results_dir: Path, name: str, results: Mapping[str, Any]) -> None:
    """bench/results/<name>.json, and the same figures on stdout."""
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"{name}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results, indent=2, ensure_ascii=False))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pids: Sequence[int]) -> float:
    """utime + stime of these processes, seconds (a process gone since counts nothing)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants, each once (a process listed twice would have its CPU counted twice)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    kids = [int(p) for p in out.stdout.split()]
    return [pid, *itertools.chain.from_iterable(process_tree(k) for k in kids)]


def pg_backends(url: str) -> list[int]:
    """The PostgreSQL server processes connected to this URL's database (not this query's own)."""
    dsn = url.replace("+psycopg", "")
    db = dsn.rsplit("/", 1)[1]
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (db,)
        ).fetchall()
    return [int(r[0]) for r in rows]


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    host: str
    port: int

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_server(
    env: Mapping[str, str],
    *,
    workers: int = 2,
    fast: bool = True,
    probe: str = "/",
    options: Sequence[str] = (),
    factory: str = "backend.app:create_app",
) -> Server:
    """uvicorn serving the app `factory` makes (the back end's) with `workers` processes; `fast` is
    uvloop + httptools (production), else plain asyncio + h11; `options` are more of uvicorn's. Returns
    once `probe` answers."""
    port = free_port()
    extra = ["--loop", "uvloop", "--http", "httptools"] if fast else ["--loop", "asyncio", "--http", "h11"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log", *extra, *options],
        env={**os.environ, "SM_ENV": "development", **env},  # a throwaway database and key directory
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a loaded 2-core machine starts two workers slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("uvicorn exited")
        try:
            httpx.get(base + probe, timeout=10)
            return Server(proc, base, "127.0.0.1", port)
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("uvicorn did not start")


@dataclass(frozen=True, slots=True)
class Request:
    label: str  # what the figures are grouped by
    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    expect: int = 200


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One kept-alive HTTP/1.1 connection; bodies are read by Content-Length (every route here sets it)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self._r, self._w, self._host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, host)

    async def send(self, req: Request) -> Answer:
        head = [f"{req.method} {req.path} HTTP/1.1", f"Host: {self._host}", "Content-Length: 0"]
        head += [f"{k}: {v}" for k, v in req.headers.items()]
        self._w.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        raw = await self._r.readuntil(b"\r\n\r\n")
        status_line, *lines = raw[:-4].decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding") == "chunked":
            raise RuntimeError(f"{req.path}: a chunked answer (the load client reads Content-Length only)")
        body = await self._r.readexactly(int(headers.get("content-length", "0")))
        return Answer(int(status_line.split(" ", 2)[1]), headers, body)

    async def close(self) -> None:
        self._w.close()
        await self._w.wait_closed()


def summary(ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(ms)

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(ordered[-1], 2),
    }


@dataclass
class LoadResult:
    wall_s: float
    latencies_ms: dict[str, list[float]]
    failures: list[str]
    server_cpu_s: float
    postgres_cpu_s: float
    body_bytes: dict[str, int]

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies_ms.values())


async def run_load(
    server: Server,
    clients: Sequence[Sequence[Request]],
    *,
    rounds: int,
    warmup: int = 1,
    check: Callable[[Request, Answer], str | None] | None = None,
    database_url: str | None = None,
) -> LoadResult:
    """Each client is one kept-alive connection sending its requests in turn, `rounds` times after
    `warmup` rounds that are not counted (pools fill, templates compile). The server's CPU and, with
    `database_url`, PostgreSQL's backends' CPU are read over the counted rounds only. An answer with
    another status than expected, or that `check` objects to, is a failure."""
    conns = [await Connection.open(server.host, server.port) for _ in clients]
    latencies: dict[str, list[float]] = defaultdict(list)
    sizes: dict[str, int] = {}
    failures: list[str] = []

    async def one(conn: Connection, reqs: Sequence[Request], n: int, record: bool) -> None:
        for _ in range(n):
            for req in reqs:
                t0 = time.perf_counter()
                ans = await conn.send(req)
                elapsed = (time.perf_counter() - t0) * 1000
                problem = f"{ans.status}" if ans.status != req.expect else check(req, ans) if check else None
                if problem:
                    failures.append(f"{req.label} {req.path}: {problem}")
                if record:
                    latencies[req.label].append(elapsed)
                    sizes[req.label] = len(ans.body)

    try:
        await asyncio.gather(*(one(c, r, warmup, False) for c, r in zip(conns, clients, strict=True)))
        pids = server.pids()
        backends = pg_backends(database_url) if database_url else []
        api0, pg0 = cpu_seconds(pids), cpu_seconds(backends)
        t0 = time.perf_counter()
        await asyncio.gather(*(one(c, r, rounds, True) for c, r in zip(conns, clients, strict=True)))
        wall = time.perf_counter() - t0
        api_cpu, pg_cpu = cpu_seconds(pids) - api0, cpu_seconds(backends) - pg0
    finally:
        for c in conns:
            await c.close()
    return LoadResult(wall, dict(latencies), failures, api_cpu, pg_cpu, sizes)

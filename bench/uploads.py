"""The benches' load client: terminals' signed batches, or any other requests, posted from client threads.

One loop for every bench that drives the real server, so each measures the same way: a shared queue of
work, CLIENTS threads with one kept-alive httpx client each, wall time from the first request to the last
answer, every answer's latency, and the first failure raised after the run.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from tests.scale.seed import Terminal, post_batch

T = TypeVar("T")


@dataclass
class Run:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)

    def p(self, q: int) -> float:
        """The q-th percentile latency in ms."""
        if len(self.latencies) < 2:
            return round(1000 * (self.latencies[0] if self.latencies else 0.0), 1)
        return round(statistics.quantiles(self.latencies, n=100)[q - 1] * 1000, 1)


def drive(
    base_url: str,
    work: Sequence[T],
    request: Callable[[httpx.Client, T], httpx.Response],
    *,
    clients: int,
    count: Callable[[httpx.Response], dict[str, int]] | None = None,
    affinity: Callable[[T], int] | None = None,
    pool: Sequence[httpx.Client] | None = None,
) -> Run:
    """Every item of `work` sent once by `request` from `clients` threads; an answer that is not 2xx
    stops its thread and fails the run. `count` adds each answer's figures to the run's totals.
    `affinity`: items with the same value always go through the same thread, so over its kept-alive
    connection to the same server process (a balancer's sticky routing); else any thread takes the next.
    `pool`: one kept-alive client per thread, kept open after the run, so a later run's thread i talks
    to the same server process as this run's (else each thread opens its own)."""
    lock = threading.Lock()
    shared = iter(work)
    own: list[Iterator[T]] = [shared] * clients
    if affinity is not None:
        own = [iter([w for w in work if affinity(w) % clients == i]) for i in range(clients)]
    run = Run()
    errors: list[str] = []

    def loop(todo: Iterator[T], client: httpx.Client) -> None:
        while True:
            with lock:
                item = next(todo, None)
            if item is None:
                return
            t0 = time.perf_counter()
            try:
                r = request(client, item)
            except httpx.HTTPError as e:
                errors.append(repr(e))
                return
            took = time.perf_counter() - t0
            if not r.is_success:
                errors.append(f"{r.status_code} {r.text[:200]}")
                return
            figures = count(r) if count is not None else {}
            with lock:
                run.latencies.append(took)
                for k, v in figures.items():
                    run.totals[k] = run.totals.get(k, 0) + v

    clients_ = list(pool) if pool is not None else [httpx.Client(base_url=base_url, timeout=120) for _ in own]
    threads = [threading.Thread(target=loop, args=(todo, c)) for todo, c in zip(own, clients_, strict=True)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.seconds = time.perf_counter() - start
    if pool is None:
        for c in clients_:
            c.close()
    if errors:
        raise RuntimeError(f"request failed: {errors[0]}")
    return run


def _answer(r: httpx.Response) -> dict[str, int]:
    body: dict[str, int] = r.json()
    return {k: body[k] for k in ("accepted", "duplicates", "flagged")}


def post_batches(
    base_url: str,
    work: Sequence[tuple[Terminal, bytes]],
    *,
    clients: int,
    sticky: bool = False,
    pool: Sequence[httpx.Client] | None = None,
) -> Run:
    """Terminals' signed batches to the upload endpoint, a fresh device token each; totals are the
    answers' accepted, duplicate and flagged events. `sticky`: a terminal always reaches the same
    server process."""
    return drive(
        base_url,
        work,
        lambda c, w: post_batch(c, w[0], w[1]),
        clients=clients,
        count=_answer,
        affinity=(lambda w: w[0].terminal_id) if sticky else None,
        pool=pool,
    )

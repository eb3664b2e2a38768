"""A small pool for password hashing, apart from the threads that serve every other route.

argon2 costs tens of milliseconds and 64 MiB per hash. Run in the request threads, a burst of logins
takes all of them and a terminal's trust-list request waits behind it; here at most `workers` hashes run
at once, at most `max_waiting` wait, and a call past that raises PoolBusy at once (a login answers it
429 LOGIN_BUSY).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class PoolBusy(RuntimeError):
    """Every slot runs and the queue is full: retry in a moment."""


class HashPool:
    def __init__(self, workers: int = 2, max_waiting: int = 64) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hash")
        self._max_waiting = max_waiting
        self._waiting = 0  # touched only on the event loop's thread

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        if self._waiting >= self._max_waiting:
            raise PoolBusy("too many hashes at once")
        self._waiting += 1
        try:
            return await asyncio.wrap_future(self._executor.submit(fn, *args))
        finally:
            self._waiting -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

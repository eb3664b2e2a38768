"""A small pool for password hashing, apart from the threads that serve every other route.

argon2 costs tens of milliseconds and 64 MiB per hash. Run in the request threads, a burst of logins
takes all of them and a terminal's trust-list request waits behind it; here at most `workers` hashes run
at once, at most `max_waiting` wait, and a login past that is answered 429 LOGIN_BUSY at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from .errors import rate_limited

LOGIN_BUSY = "LOGIN_BUSY"  # AuthReason.LOGIN_BUSY; spelled here so the app context needs no auth import

T = TypeVar("T")


class HashPool:
    def __init__(self, workers: int = 2, max_waiting: int = 64) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hash")
        self._max_waiting = max_waiting
        self._waiting = 0  # touched only on the event loop's thread

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        if self._waiting >= self._max_waiting:
            raise rate_limited(LOGIN_BUSY, "too many sign-ins at once; retry in a moment", 1)
        self._waiting += 1
        try:
            return await asyncio.wrap_future(self._executor.submit(fn, *args))
        finally:
            self._waiting -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

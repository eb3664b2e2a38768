"""Browser fixtures: Debian's Chromium driven by Playwright (never `playwright install`), the live
server with the demo district. Under CI=true a missing browser fails the run instead of skipping."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import CHROMIUM, CHROMIUM_ARGS, LiveServer, in_ci, local, start_server

# A school day (Tuesday) at breakfast, a few seconds into a 5-minute window.
SCHOOL_DAY = "2026-12-08"
BREAKFAST = local(SCHOOL_DAY, "08:40:03")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        msg = f"{CHROMIUM} is missing (apt-get install chromium)"
        if in_ci():
            pytest.fail(msg + " — CI=true, so browser tests must run")
        pytest.skip(msg + " — browser tests skipped on this machine")  # stated exception: no browser here
    from playwright.sync_api import sync_playwright

    # Playwright routes a service worker's own requests only with this set (Chromium, read by the
    # driver it starts): without it the pass's offline step could not refuse the worker's refreshes.
    os.environ["PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS"] = "1"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path, BREAKFAST)
    yield server
    server.stop()

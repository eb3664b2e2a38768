from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from backend.clock import FixedClock

from .conftest import LUNCH, Setup


def test_upload_one_meal(client: TestClient, clock: FixedClock, school_setup: Callable[..., Setup]) -> None:
    s = school_setup()
    d = s.device
    clock.set(LUNCH + timedelta(hours=2))
    r = d.upload(client, d.batch([d.event(s.voucher_id, LUNCH)]))
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 1, "duplicates": 0, "flagged": 0}

"""Security suites reuse the operations fixtures (vouchers, calendars, enrolled terminals)."""

from pathlib import Path

import pytest

from backend.config import Settings
from tests.backend.operations.conftest import (  # noqa: F401 - fixtures, registered by import
    enrol_device,
    make_voucher,
    school_setup,
    setup,
    with_lunch_slot,
)
from tests.backend.wallet.conftest import checked_list, registered_child, staff  # noqa: F401


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    """SQLite only: these suites test the edge's rules; the dialects are covered by the feature suites."""
    return Settings(
        database_url=sqlite_url, key_dir=tmp_path / "keys", sms_outbox_file=tmp_path / "outbox.jsonl"
    )

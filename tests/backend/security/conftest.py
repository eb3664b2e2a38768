"""Security suites reuse the operations fixtures (vouchers, calendars, enrolled terminals)."""

from tests.backend.operations.conftest import (  # noqa: F401 - fixtures, registered by import
    enrol_device,
    make_voucher,
    school_setup,
    setup,
    with_lunch_slot,
)

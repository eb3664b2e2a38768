"""Imports every module that defines tables so Base.metadata is complete (Alembic, tests, create_all)."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from backend.adapters.orm import Base

# Every module that declares tables on Base; Alembic and the schema test see all of them.
TABLE_MODULES = (
    "backend.roster.tables",
    "backend.auth.tables",
    "backend.sms.tables",
    "backend.timers.tables",
    "backend.eligibility.tables",
    "backend.consent.tables",
    "backend.vouchers.tables",
    "backend.imports.tables",
    "backend.calendar.tables",
    "backend.fleet.tables",
    "backend.ingest.tables",
    "backend.feedback.tables",
    "backend.notify.tables",
    "backend.billing.tables",
    "backend.consent.decisions",
    "backend.passes.tables",
    "backend.notify.delivery_tables",
    "backend.menu.tables",
    "backend.delivery.tables",
    "backend.throttle.tables",
)


def all_metadata() -> MetaData:
    for name in TABLE_MODULES:
        importlib.import_module(name)
    return Base.metadata

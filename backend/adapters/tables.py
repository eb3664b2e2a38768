"""Imports every module that defines tables so Base.metadata is complete (Alembic, tests, create_all)."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from .orm import Base

# Wallet tables first; the others' modules are imported when present.
TABLE_MODULES = (
    "backend.adapters.wallet_tables",
    "backend.fleet.tables",
    "backend.ingest.tables",
    "backend.feedback.tables",
    "backend.notify.tables",
    "backend.reporting.tables",
    "backend.billing.tables",
)


def all_metadata() -> MetaData:
    for name in TABLE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but one of its imports is missing: a real error
                raise
    return Base.metadata

"""The single declarative Base every back-end table uses (wallet, operations, reporting)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from operator import attrgetter
from typing import Any

from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic batch migrations on SQLite can address them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


@cache
def _column_keys(model: type[Base]) -> tuple[str, ...]:
    table = model.__table__
    assert isinstance(table, Table)
    return tuple(c.key for c in table.columns)


def row_values(record: object, model: type[Base]) -> dict[str, Any]:
    """A domain record's values for `model`'s row: its attributes named as the columns are. A record
    that names its fields as the table does is stored as it is, without a hand-written reshape."""
    return {key: getattr(record, key) for key in _column_keys(model)}


def column_values(records: Sequence[object], model: type[Base]) -> dict[str, list[Any]]:
    """`row_values` of many records, column by column (what a set-based insert sends): no dict per row."""
    return {key: list(map(attrgetter(key), records)) for key in _column_keys(model)}

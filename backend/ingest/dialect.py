"""Insert-or-ignore for both databases: `INSERT … ON CONFLICT DO NOTHING RETURNING key`, one statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.adapters.orm import Base


def insert_ignore(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]], *, key: str
) -> set[Any]:
    """Insert rows whose `key` is new; returns the keys actually inserted (a concurrent twin counts once)."""
    if not rows:
        return set()
    table = cast(Table, model.__table__)
    dialect = session.get_bind().dialect.name
    ins = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    stmt = ins.on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
    return set(session.scalars(stmt, list(rows)).all())

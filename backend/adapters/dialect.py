"""Set-based SQL that is fast on both databases.

PostgreSQL: a batch goes in as one `INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING RETURNING`
with one fixed statement text (psycopg prepares it once), and `= ANY(array)` replaces long IN lists;
a multi-row VALUES statement of 500 rows costs more to build and parse than to execute.
SQLite: the same through SQLAlchemy's `INSERT … ON CONFLICT DO NOTHING RETURNING` and IN lists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import JSON, ColumnElement, Table, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

from backend.adapters.orm import Base


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def among(session: Session, column: InstrumentedAttribute[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN values`, as `= ANY(:array)` on PostgreSQL."""
    if _is_pg(session):
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(list(values))


def insert_ignore(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]], *, key: str, any_key: bool = False
) -> set[Any]:
    """Insert rows whose `key` is new; returns the keys actually inserted (a concurrent twin counts once).
    `any_key`: on PostgreSQL, ignore a conflict on any unique key (a partitioned table's primary key
    holds the partition column, so `key` alone names no unique index there)."""
    if not rows:
        return set()
    table = cast(Table, model.__table__)
    if _is_pg(session):
        return _insert_unnest(session, table, rows, key, any_key=any_key)
    stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
    return set(session.scalars(stmt, list(rows)).all())


def _insert_unnest(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], key: str, *, any_key: bool
) -> set[Any]:
    dialect = session.get_bind().dialect
    cols = list(rows[0])
    arrays, casts, selects = [], [], []
    for i, name in enumerate(cols):
        col = table.c[name]
        values = [r[name] for r in rows]
        if isinstance(col.type, JSON):
            arrays.append([None if v is None else json.dumps(v) for v in values])
            casts.append("%b::text[]")
            selects.append(f"c{i}::json")
        else:
            arrays.append(values)
            casts.append(f"%b::{col.type.compile(dialect=dialect)}[]")
            selects.append(f"c{i}")
    aliases = ", ".join(f"c{i}" for i in range(len(cols)))
    sql = (
        f"INSERT INTO {table.name} ({', '.join(cols)}) "  # noqa: S608 - names come from our own table metadata
        f"SELECT {', '.join(selects)} FROM unnest({', '.join(casts)}) AS u({aliases}) "
        f"ON CONFLICT {'' if any_key else f'({key}) '}DO NOTHING RETURNING {key}"
    )
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cur:
        cur.execute(sql, arrays, binary=True)
        return {r[0] for r in cur.fetchall()}

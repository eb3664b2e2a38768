"""Set-based SQL that is fast on both databases.

PostgreSQL: a batch goes in as one `INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING RETURNING`
(a column with one value in the whole batch as a single parameter; a few statement texts, which psycopg
prepares where preparing is on), and `= ANY(array)` replaces long IN lists;
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

from backend.adapters.orm import Base, column_values, row_values


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
        columns = {name: [r[name] for r in rows] for name in rows[0]}
        return _insert_unnest(session, table, columns, key, any_key=any_key)
    stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
    return set(session.scalars(stmt, list(rows)).all())


def insert_records_ignore(
    session: Session, model: type[Base], records: Sequence[object], *, key: str, any_key: bool = False
) -> set[Any]:
    """`insert_ignore` of domain records whose fields are named as the table's columns (`row_values`);
    on PostgreSQL their values are taken column by column, without a dict per row."""
    if not records:
        return set()
    if _is_pg(session):
        columns = column_values(records, model)
        return _insert_unnest(session, cast(Table, model.__table__), columns, key, any_key=any_key)
    return insert_ignore(session, model, [row_values(r, model) for r in records], key=key, any_key=any_key)


_EMPTY_LIST_JSON = json.dumps([])  # most rows' JSON value (a meal without flags), without the encoder


def _insert_unnest(
    session: Session, table: Table, columns: dict[str, list[Any]], key: str, *, any_key: bool
) -> set[Any]:
    dialect = session.get_bind().dialect
    cols = list(columns)
    scalars: list[Any] = []  # parameters of the SELECT list, in text order
    arrays: list[Any] = []  # parameters of FROM unnest(…), after them in the text
    casts, selects = [], []
    for name in cols:
        col = table.c[name]
        values = columns[name]
        is_json = isinstance(col.type, JSON)
        sql_type = "text" if is_json else col.type.compile(dialect=dialect)
        if is_json:
            values = [_EMPTY_LIST_JSON if v == [] else None if v is None else json.dumps(v) for v in values]
        # A column with one value for the whole batch (its terminal, school and receipt time, mostly its
        # status, plan and boot) goes as one parameter, not an array: psycopg dumps every array element
        # in Python, and this halves the dumping of a typical batch.
        if values.count(values[0]) == len(values):
            scalars.append(values[0])
            value = f"%b::{sql_type}"
        else:
            value = f"c{len(arrays)}"
            arrays.append(values)
            casts.append(f"%b::{sql_type}[]")
        selects.append(f"({value})::json" if is_json else value)
    source = f"FROM unnest({', '.join(casts)}) AS u({', '.join(f'c{i}' for i in range(len(arrays)))}) "
    sql = (
        f"INSERT INTO {table.name} ({', '.join(cols)}) "
        f"SELECT {', '.join(selects)} {source if arrays else ''}"
        f"ON CONFLICT {'' if any_key else f'({key}) '}DO NOTHING RETURNING {key}"
    )
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cur:
        cur.execute(sql, [*scalars, *arrays], binary=True)
        return {r[0] for r in cur.fetchall()}

"""Bulk inserts that stay one executemany on both databases."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import insert
from sqlalchemy.orm import Session

T = TypeVar("T")

# Ids per IN (...) list: well under SQLite's 32,766 bound parameters, and one round trip per few thousand rows.
IN_LIST_SIZE = 5000


def bulk_insert(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """ORM bulk INSERT without RETURNING. `render_nulls` keeps None values in the statement: by default
    the ORM drops them and splits rows into batches by key set, so alternating None / not-None values
    (a parent with and one without a phone) would run one statement per row."""
    if rows:
        session.execute(insert(model).execution_options(render_nulls=True), list(rows))


def chunks(items: Sequence[T], size: int = IN_LIST_SIZE) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size`, for IN lists and executemany batches of bounded size."""
    for i in range(0, len(items), size):
        yield items[i : i + size]

"""Bulk inserts that stay one executemany on both databases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session


def bulk_insert(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """ORM bulk INSERT without RETURNING. `render_nulls` keeps None values in the statement: by default
    the ORM drops them and splits rows into batches by key set, so alternating None / not-None values
    (a parent with and one without a phone) would run one statement per row."""
    if rows:
        session.execute(insert(model).execution_options(render_nulls=True), list(rows))

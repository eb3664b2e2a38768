"""Row locking that works on both databases.

PostgreSQL: `SELECT ... FOR UPDATE [SKIP LOCKED]`. SQLite has no row locks, but backend.db starts every
transaction with BEGIN IMMEDIATE, so writers are serialised and the plain SELECT is already exclusive.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, text
from sqlalchemy.orm import Session

S = TypeVar("S", bound=Select[*tuple[Any, ...]])  # a select of any columns


def for_update(session: Session, stmt: S, *, skip_locked: bool = False, of: Any = None) -> S:
    """`of`: lock only that table's rows in a join."""
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=skip_locked, of=of)
    return stmt


def serialise(session: Session, name: str) -> None:
    """Holds `name` until the transaction ends, so copies of the worker run a pass one at a time
    (PostgreSQL: a transaction-level advisory lock, fine behind a transaction pooler; SQLite's
    BEGIN IMMEDIATE already serialises writers)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})

"""Every SQL statement the code sends, caught at SQLAlchemy's cursor event, and the rule that a query on
a large (partitioned, distributable) table names the school it concerns."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event

# distributed by school_id on a distributed PostgreSQL; every other table is a reference table or small
LARGE = ("meal_events", "meal_refusals")
_TOUCHES = re.compile(r"\b(?:from|join|update|into)\s+(" + "|".join(LARGE) + r")\b", re.IGNORECASE)
_SCHOOL_FILTER = re.compile(r"\bschool_id\s*(?:=|in\b|= any)", re.IGNORECASE)


@dataclass
class Captured:
    statements: list[tuple[str, Any]] = field(default_factory=list)

    def on_large_tables(self) -> list[tuple[str, Any]]:
        return [(s, p) for s, p in self.statements if _TOUCHES.search(s)]


@contextmanager
def capture() -> Iterator[Captured]:
    seen = Captured()

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.statements.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def lacks_school_key(statement: str) -> bool:
    """A read or change of a large table that neither filters nor joins on a school (a join on the
    school is co-located on a distributed PostgreSQL). An INSERT of values carries the column."""
    sql = " ".join(statement.split())
    if re.match(r"^\s*insert\b", sql, re.IGNORECASE) and "select" not in sql.lower():
        return False
    # what follows the select list: FROM/JOIN ... ON, WHERE (an UPDATE/DELETE has no select list)
    body = re.split(r"\bfrom\b", sql, maxsplit=1, flags=re.IGNORECASE)
    return not _SCHOOL_FILTER.search(body[-1])

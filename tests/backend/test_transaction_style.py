"""One transaction style: a request's unit of work comes from `backend.deps.UowDep` and the service it
calls commits. API and web modules (and the FastAPI dependencies they use) never open a session, a
unit of work or a transaction, and never commit; this test reads their source to keep it so."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[2] / "backend"
# The one place a request's unit of work is opened (and closed).
OPENER = BACKEND / "deps.py"


def _edge_modules() -> list[Path]:
    """API modules, the web package, and every other module that works with FastAPI."""
    found = set(BACKEND.rglob("api.py")) | set((BACKEND / "web").rglob("*.py"))
    for path in BACKEND.rglob("*.py"):
        if "fastapi" in path.read_text(encoding="utf-8"):
            found.add(path)
    return sorted(p for p in found if p != OPENER and "migrations" not in p.parts)


def _violations(source: str) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in {"session_factory", "UnitOfWork", "commit", "begin", "begin_nested", "sessionmaker"}:
            out.append(f"line {node.lineno}: {name}()")
    return out


def test_the_guard_sees_each_forbidden_call() -> None:
    bad = """
def route(ctx, uow):
    with ctx.session_factory() as s:
        s.commit()
    with UnitOfWork(ctx.session_factory) as u:
        u.session.begin()
"""
    assert [v.split(": ")[1] for v in _violations(bad)] == [
        "session_factory()",
        "commit()",
        "UnitOfWork()",
        "begin()",
    ]
    assert _violations("def route(uow):\n    services.activate(uow, 1)\n") == []


def test_the_guard_covers_the_edge() -> None:
    names = {p.relative_to(BACKEND).as_posix() for p in _edge_modules()}
    assert {"vouchers/api.py", "web/pages.py", "auth/dependencies.py", "fleet/cards.py"} <= names
    assert "deps.py" not in names


@pytest.mark.parametrize("path", _edge_modules(), ids=lambda p: p.relative_to(BACKEND).as_posix())
def test_edge_module_neither_opens_nor_commits(path: Path) -> None:
    assert _violations(path.read_text(encoding="utf-8")) == [], (
        f"{path.relative_to(BACKEND)}: take `uow: UowDep` and let the service commit"
    )

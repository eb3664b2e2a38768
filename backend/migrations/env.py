"""Alembic environment: the shared metadata; a connection passed in by backend.db.init_schema or a URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from backend.db import make_engine
from backend.schema import all_metadata

config = context.config
target_metadata = all_metadata()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copy
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        _run(conn)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("SM_DATABASE_URL")
    if not url:
        raise RuntimeError("set sqlalchemy.url (SM_DATABASE_URL) for Alembic")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_online()

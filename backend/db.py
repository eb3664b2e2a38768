"""Engine and session factory for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import ClauseElement, Connection, Engine, Executable, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler

if TYPE_CHECKING:
    from .config import Settings

log = logging.getLogger(__name__)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


@contextmanager
def one_statement(engine: Engine) -> Iterator[Connection]:
    """A connection for statements that each stand alone: autocommit on PostgreSQL (no BEGIN and COMMIT
    round trips); a transaction committed at the end on SQLite, whose engine emits BEGIN IMMEDIATE on
    every connection's first statement (autocommit would leave that transaction open and roll it back)."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            yield conn
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn


class Standalone(Protocol):
    """Runs a statement that stands alone (`one_statement`) and gives its first row, or None."""

    def first(self, stmt: Executable, params: Mapping[str, Any]) -> Any: ...

    def close(self) -> None:
        """Closes what it holds open (at the server's shutdown)."""


class EngineStatements:
    """`Standalone` through the engine's pool (SQLite, the embedded default)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def first(self, stmt: Executable, params: Mapping[str, Any]) -> Any:
        with one_statement(self._engine) as conn:
            return conn.execute(stmt, params).first()

    def close(self) -> None:
        """Nothing of its own: the engine's pool is the engine's."""


class ThreadStatements:
    """`Standalone` on PostgreSQL, each statement autocommit on a psycopg connection of the calling
    thread's own: no pool checkout with its ping (a round trip), no SQLAlchemy execution context, the
    statement compiled once and, unless `prepare` is off (behind PgBouncer's transaction pooling),
    prepared by the server on its first run. For statements whose parameters and results psycopg
    converts as SQLAlchemy does (integers, text, bytes, dates; SQLAlchemy's bind processors are
    applied): tests compare the rows. A broken connection is dropped; the next call opens another."""

    def __init__(self, engine: Engine, *, prepare: bool) -> None:
        self._dialect = engine.dialect
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._prepare_threshold = 0 if prepare else None
        self._local = threading.local()
        self._compiled: dict[Executable, _Compiled] = {}
        # every thread's connection, so shutdown closes them (a thread-local alone is only reachable
        # from its own thread)
        self._opened: set[psycopg.Connection[Any]] = set()
        self._opened_lock = threading.Lock()

    def first(self, stmt: Executable, params: Mapping[str, Any]) -> Any:
        compiled = self._compiled.get(stmt) or self._compile(stmt)
        values = {**compiled.defaults, **params}
        for name, process in compiled.processors:
            values[name] = process(values[name])
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(
                self._dsn,
                autocommit=True,
                prepare_threshold=self._prepare_threshold,
                row_factory=namedtuple_row,
            )
            self._local.conn = conn
            with self._opened_lock:
                self._opened.add(conn)
        try:
            return conn.execute(compiled.sql, values).fetchone()
        finally:
            if conn.broken:
                self._local.conn = None
                self._forget(conn)

    def close(self) -> None:
        """Closes every thread's connection; a thread calling `first` afterwards opens a new one."""
        with self._opened_lock:
            opened, self._opened = self._opened, set()
        for conn in opened:
            conn.close()

    def _forget(self, conn: psycopg.Connection[Any]) -> None:
        with self._opened_lock:
            self._opened.discard(conn)
        conn.close()

    def _compile(self, stmt: Executable) -> _Compiled:
        c = cast(SQLCompiler, cast(ClauseElement, stmt).compile(dialect=self._dialect))
        processors = [
            (name, process)
            for name, bind in c.binds.items()
            if (process := bind.type.bind_processor(self._dialect)) is not None
        ]
        compiled = _Compiled(str(c), c.params, tuple(processors))
        self._compiled[stmt] = compiled
        return compiled


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    defaults: dict[str, Any]
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]


def standalone_statements(engine: Engine, settings: Settings) -> Standalone:
    if engine.dialect.name == "sqlite":
        return EngineStatements(engine)
    return ThreadStatements(engine, prepare=settings.db_prepared_statements)


def make_engine(url: str, **kwargs: Any) -> Engine:
    if is_sqlite(url):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers run beside the writer; foreign keys are off by default in SQLite.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so writes serialise.
        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def engine_options(settings: Settings, url: str) -> dict[str, Any]:
    """The pool settings of `settings` for a PostgreSQL URL (SQLite keeps its defaults)."""
    if is_sqlite(url):
        return {}
    options: dict[str, Any] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_pre_ping": settings.db_pre_ping,
    }
    if not settings.db_prepared_statements:
        # Behind PgBouncer in transaction pooling a statement psycopg prepared on one server connection
        # is unknown on the next one: never prepare (psycopg prepares a query after its 5th execution).
        options["connect_args"] = {"prepare_threshold": None}
    return options


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


# How far behind the primary a replica is, seconds: 0 when it has replayed all it received (an idle
# primary sends nothing, and a replay timestamp would then look old), NULL when it is not streaming, 0
# once promoted. A replica that lost its primary still has received == replayed: hence the receiver check.
REPLICA_LAG_SQL = text(
    """
    SELECT CASE
      WHEN NOT pg_is_in_recovery() THEN 0
      WHEN NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN NULL
      WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
      ELSE EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())
    END
    """
)


class ReadSessions:
    """Sessions for reads that may lag the primary by at most `max_lag` seconds: on the replica while
    it is that fresh, else on the primary. The replica's lag is measured at most every `check_every`
    seconds, so the bound on what a reader sees is max_lag + check_every."""

    def __init__(
        self,
        primary: sessionmaker[Session],
        replica: sessionmaker[Session] | None,
        *,
        max_lag: float,
        check_every: float = 1.0,
    ) -> None:
        self._primary, self._replica = primary, replica
        self._max_lag, self._check_every = max_lag, check_every
        self._lock = threading.Lock()
        self._checked_at = -float("inf")
        self._fresh = False

    def replica_fresh(self) -> bool:
        if self._replica is None:
            return False
        now = time.monotonic()
        with self._lock:
            if now - self._checked_at < self._check_every:
                return self._fresh
            self._checked_at = now
        try:
            with self._replica() as session:
                lag = session.scalar(REPLICA_LAG_SQL)
        except DBAPIError:
            log.warning("replica unreachable; reading from the primary", exc_info=True)
            lag = None
        fresh = lag is not None and float(lag) <= self._max_lag
        with self._lock:
            self._fresh = fresh
        return fresh

    def __call__(self) -> Session:
        return (self._replica if self.replica_fresh() and self._replica else self._primary)()


MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Any:
    """Alembic configuration for `url` without an ini file (the CLI uses backend/migrations/alembic.ini)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def init_schema(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Run the Alembic migrations up to `revision` (production and tests; create_all is never used)."""
    from alembic import command

    if isinstance(engine_or_url, str):
        engine = make_engine(engine_or_url)
        owned = True
    else:
        engine, owned = engine_or_url, False
    try:
        with engine.begin() as conn:
            cfg = alembic_config(engine.url.render_as_string(hide_password=False))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        if owned:
            engine.dispose()


class SchemaNotCurrent(RuntimeError):
    """The database is not at the code's migration head: the server must not start on it."""


def check_schema(engine: Engine) -> None:
    """Raises SchemaNotCurrent with a one-line message unless the database is migrated to head."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current != heads:
        at = ", ".join(sorted(current)) or "no tables"
        raise SchemaNotCurrent(
            f"the database is not migrated (at {at}, code needs {', '.join(sorted(heads))}): "
            "run `python -m backend migrate` first"
        )

"""What a process holds for its lifetime (the API's app and the worker alike), built in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .adapters.egov import EgovNotConfigured, EgovSignIn
from .adapters.sms_gateways import HttpSmsGateway, OutboxGateway, SmsGateway
from .adapters.state_registry import FileRegistry, InMemoryRegistry, StateRegistry
from .clock import Clock, SystemClock
from .config import Settings
from .db import (
    ReadSessions,
    Standalone,
    engine_options,
    make_engine,
    make_session_factory,
    standalone_statements,
)
from .hash_pool import HashPool
from .keys import KeyStore


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    keys: KeyStore
    sms: SmsGateway
    standalone: Standalone  # statements that stand alone, off the pool on PostgreSQL (backend.db)
    notifier: Any = None  # the parent notifier (backend.notify.model.Notifier); None: the outbox
    registry: StateRegistry = field(default_factory=InMemoryRegistry)  # state categories register
    egov: EgovSignIn = field(default_factory=EgovNotConfigured)  # parents' eGov sign-in
    hash_pool: HashPool = field(default_factory=HashPool)  # argon2 away from the request threads
    # reads that may lag a little (reports, parents' histories): backend.db.ReadSessions; None: primary
    read_session_factory: Callable[[], Session] | None = None
    # what features keep per process (ingestion's school facts…), by feature; each checks its own freshness
    memo: dict[str, Any] = field(default_factory=dict)

    def reader(self) -> Session:
        """A session for a read that tolerates the replica's bounded lag."""
        return (self.read_session_factory or self.session_factory)()


def default_sms(settings: Settings) -> SmsGateway:
    if settings.sms_http_url and settings.sms_http_token:
        return HttpSmsGateway(settings.sms_http_url, settings.sms_http_token)
    return OutboxGateway(settings.sms_outbox_file)


def default_registry(settings: Settings) -> StateRegistry:
    if settings.state_registry_file is not None:
        return FileRegistry(settings.state_registry_file)
    return InMemoryRegistry()


def build_context(
    settings: Settings,
    *,
    clock: Clock | None = None,
    sms: SmsGateway | None = None,
    notifier: Any = None,
    registry: StateRegistry | None = None,
) -> AppContext:
    """The adapters the settings name, or the ones a test or the demo hands in."""
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url, **engine_options(settings, settings.database_url))
    primary = make_session_factory(engine)
    replica = None
    if settings.replica_url:
        replica = make_session_factory(
            make_engine(settings.replica_url, **engine_options(settings, settings.replica_url))
        )
    return AppContext(
        settings=settings,
        engine=engine,
        session_factory=primary,
        read_session_factory=ReadSessions(primary, replica, max_lag=settings.replica_max_lag_seconds),
        clock=clock,
        standalone=standalone_statements(engine, settings),
        keys=KeyStore(settings.key_dir, clock),
        sms=sms or default_sms(settings),
        notifier=notifier,
        registry=registry or default_registry(settings),
    )

"""What a process holds for its lifetime (the API's app and the worker alike), built in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .adapters.egov import EgovNotConfigured, EgovSignIn
from .adapters.sms_gateways import HttpSmsGateway, OutboxGateway, SmsGateway
from .adapters.state_registry import FileRegistry, InMemoryRegistry, StateRegistry
from .clock import Clock, SystemClock
from .config import Settings
from .db import make_engine, make_session_factory
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
    notifier: Any = None  # the parent notifier (backend.notify.model.Notifier); None: the outbox
    registry: StateRegistry = field(default_factory=InMemoryRegistry)  # state categories register
    egov: EgovSignIn = field(default_factory=EgovNotConfigured)  # parents' eGov sign-in
    hash_pool: HashPool = field(default_factory=HashPool)  # argon2 away from the request threads


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
    engine = make_engine(settings.database_url)
    return AppContext(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        clock=clock,
        keys=KeyStore(settings.key_dir, clock),
        sms=sms or default_sms(settings),
        notifier=notifier,
        registry=registry or default_registry(settings),
    )

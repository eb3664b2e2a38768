"""What the app holds for the lifetime of the process, reachable from every request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .adapters.egov import EgovNotConfigured, EgovSignIn
from .clock import Clock
from .config import Settings
from .keys import KeyStore
from .sms.gateway import SmsGateway
from .wallet.registry import InMemoryRegistry, StateRegistry


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    keys: KeyStore
    sms: SmsGateway
    notifier: Any = None  # D1's parent notifier; typed by its owner
    registry: StateRegistry = field(default_factory=InMemoryRegistry)  # state categories register
    egov: EgovSignIn = field(default_factory=EgovNotConfigured)  # parents' eGov sign-in
    # reads that may lag a little (reports, parents' histories): backend.db.ReadSessions; None: primary
    read_session_factory: Callable[[], Session] | None = None

    def reader(self) -> Session:
        """A session for a read that tolerates the replica's bounded lag."""
        return (self.read_session_factory or self.session_factory)()

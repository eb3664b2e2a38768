"""What the app holds for the lifetime of the process, reachable from every request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .adapters.egov import EgovNotConfigured, EgovSignIn
from .clock import Clock
from .config import Settings
from .hash_pool import HashPool
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
    hash_pool: HashPool = field(default_factory=HashPool)  # argon2 away from the request threads

"""Test helper for every back-end suite: an admin with a role and a live session token."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from backend.clock import SystemClock

from .model import Role
from .services import create_admin, open_session

_seq = itertools.count(1)
# A cheap hash: test admins never log in with a password, and argon2's default cost adds up.
_TEST_HASH = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("test-password")


def make_admin(
    session: Session,
    role: Role,
    school_ids: Iterable[int] = (),
    district: str | None = None,
    *,
    now: datetime | None = None,
) -> tuple[int, str]:
    """Creates an admin and a session valid for a year from `now`; flushes, the caller commits."""
    admin = create_admin(
        session,
        login=f"test-{role.value}-{next(_seq)}-{id(session)}",
        password="",
        password_hash=_TEST_HASH,
        role=role,
        district=district,
        school_ids=tuple(school_ids),
    )
    token = open_session(
        session, kind="admin", subject_id=admin.id, now=now or SystemClock().now(), ttl=timedelta(days=365)
    )
    session.flush()
    return admin.id, token

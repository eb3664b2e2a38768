"""Authentication and scope: admin roles (argon2 passwords), parents (one-time codes), Bearer sessions."""

from .dependencies import (
    bearer_token,
    ensure_school,
    parent_of,
    require_admin,
    require_parent,
    require_parent_token,
)
from .model import AuthReason, Principal, Role

__all__ = [
    "AuthReason",
    "Principal",
    "Role",
    "bearer_token",
    "ensure_school",
    "parent_of",
    "require_admin",
    "require_parent",
    "require_parent_token",
]

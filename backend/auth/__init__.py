"""Authentication and scope: admin roles (argon2 passwords), parents (one-time codes), Bearer sessions."""

from .dependencies import bearer_token, ensure_school, require_admin, require_parent
from .model import AuthReason, Principal, Role

__all__ = [
    "AuthReason",
    "Principal",
    "Role",
    "bearer_token",
    "ensure_school",
    "require_admin",
    "require_parent",
]

"""eGov sign-in for parents, behind an interface.

The scheme's production sign-in is eGov's identity provider, whose contract this project does not hold;
until an adapter for it is plugged in (`AppContext.egov`), parents sign in with a one-time code by SMS
and the eGov endpoint answers 503 EGOV_UNAVAILABLE.
"""

from __future__ import annotations

import enum
from typing import Protocol

from backend.errors import DomainError


class EgovReason(enum.StrEnum):
    EGOV_UNAVAILABLE = "EGOV_UNAVAILABLE"
    EGOV_REJECTED = "EGOV_REJECTED"  # for adapters: the assertion did not verify


class EgovSignIn(Protocol):
    def verify(self, assertion: str) -> str:
        """The IIN the eGov assertion vouches for; raises DomainError(EGOV_REJECTED) when it does not
        verify."""
        ...


class EgovNotConfigured:
    def verify(self, assertion: str) -> str:
        raise DomainError(EgovReason.EGOV_UNAVAILABLE, "eGov sign-in is not configured; use the SMS code")

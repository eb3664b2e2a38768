"""Every failure the technician can meet, with a stable reason code and the fix to try."""

from __future__ import annotations

import enum


class Problem(enum.StrEnum):
    NETWORK = "NETWORK"
    CODE_REJECTED = "CODE_REJECTED"
    SERVER = "SERVER"
    BAD_RESPONSE = "BAD_RESPONSE"
    ROOT_MISMATCH = "ROOT_MISMATCH"
    TRUST_LIST = "TRUST_LIST"
    ALLOWLIST = "ALLOWLIST"
    CLOCK = "CLOCK"
    KEY = "KEY"
    CONFIG = "CONFIG"
    SYSTEMD = "SYSTEMD"
    TIMEZONE = "TIMEZONE"
    AUTH = "AUTH"
    CARD = "CARD"  # this card or its pupil was refused
    NO_CARD = "NO_CARD"  # no card tapped in time
    READER = "READER"


class ProvisioningError(Exception):
    def __init__(self, problem: Problem, what: str, fix: str) -> None:
        super().__init__(f"{problem.value}: {what}. Fix: {fix}")
        self.problem = problem
        self.what = what
        self.fix = fix

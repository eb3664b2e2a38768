"""The API edge's reason → status table is complete: no reason a feature can raise goes unmapped."""

from __future__ import annotations

import enum
import importlib
import pkgutil

import backend
from backend.errors import DomainError
from backend.fleet.device_auth import DeviceAuthError
from backend.http_errors import STATUS, STATUS_BY_ERROR, UnmappedReason, status_of
from backend.ingest.services import BatchRejected
from shared_crypto import Reason as VerifyReason


def _reason_enums() -> set[type[enum.StrEnum]]:
    found: set[type[enum.StrEnum]] = set()
    for info in pkgutil.walk_packages(backend.__path__, "backend."):
        if ".migrations" in info.name:
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, enum.StrEnum)
                and value.__name__.endswith("Reason")
                and value.__module__.startswith("backend.")
            ):
                found.add(value)
    return found


# Reasons that are data, not errors: an eligibility entry's or an import row's outcome.
NOT_ERRORS = {"ReturnReason", "RejectReason", "IssueReason"}


def test_every_reason_enum_is_in_the_table() -> None:
    enums = {e for e in _reason_enums() if e.__name__ not in NOT_ERRORS}
    assert enums - set(STATUS) == set()
    for reasons in enums:
        assert set(reasons) == set(STATUS[reasons]), reasons.__name__


def test_families_answer_by_class_and_unknown_reasons_are_refused() -> None:
    class Odd(enum.StrEnum):
        ODD = "ODD"

    assert status_of(DeviceAuthError(Odd.ODD, "x", 0)) == STATUS_BY_ERROR[DeviceAuthError] == 401
    assert status_of(BatchRejected(Odd.ODD, "x")) == STATUS_BY_ERROR[BatchRejected] == 400
    assert status_of(BatchRejected(VerifyReason.TOO_LARGE, "x")) == 413
    try:
        status_of(DomainError(Odd.ODD))
    except UnmappedReason as exc:
        assert "Odd.ODD" in str(exc)
    else:
        raise AssertionError("an unmapped reason must not get a status")

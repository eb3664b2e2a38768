"""Property-based fuzzing of the whole HTTP API (schemathesis, in-process over ASGI).

Every operation of the committed OpenAPI description is called with schema-valid and schema-invalid
data, as each kind of caller: every admin role, a parent, a terminal and nobody, against a database
seeded with a school, a pupil, a parent, a voucher and an enrolled terminal. Every schemathesis check
runs on every answer; the contract is 0 server errors, 0 answers outside their schema and 0 statuses
the description does not list. Runs are derandomized (the same cases every run) and bounded per
operation (EXAMPLES) so the suite stays within a few minutes on two cores.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.config._checks import NegativeDataRejectionConfig, PositiveDataAcceptanceConfig
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)
from schemathesis.schemas import APIOperation

from backend.adapters.egov import EgovReason
from backend.auth.model import Role
from backend.errors import DomainError
from tests.backend.operations.conftest import API, Setup

EXAMPLES = 3  # per operation and generation mode
# A schema-valid request may still be refused by the use case (no such voucher, not your school, the month
# is not over, a code already used): statuses about the data's meaning, never 422 (its form).
MEANING = ("2xx", "3xx", "400", "401", "403", "404", "409", "410", "413", "429")
CALLERS = (*(r.value for r in Role), "parent", "terminal", "nobody")


@schemathesis.serializer("application/cose")
def _cose(_ctx: schemathesis.SerializationContext, value: object) -> bytes:
    """Signed batches are raw bytes; the fuzzer sends whatever bytes (or text) it drew."""
    return value if isinstance(value, bytes) else str(value).encode()


class RejectingEgov:
    """An eGov adapter that verifies no assertion (the fuzzer holds none that eGov signed)."""

    def verify(self, assertion: str) -> str:
        raise DomainError(EgovReason.EGOV_REJECTED, "the assertion does not verify")


def _schema(app: FastAPI) -> schemathesis.schemas.BaseSchema:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checks = schema.config.checks
    checks.positive_data_acceptance = PositiveDataAcceptanceConfig(expected_statuses=MEANING)
    checks.negative_data_rejection = NegativeDataRejectionConfig(
        expected_statuses=("400", "401", "403", "404", "405", "406", "413", "415", "422", "429")
    )
    return schema


def test_fuzz_every_operation_as_every_caller(
    app: FastAPI,
    setup: Setup,
    admin_token: Callable[..., tuple[int, dict[str, str]]],
    parent_token: Callable[[int], dict[str, str]],
) -> None:
    headers: dict[str, dict[str, str]] = {
        "nobody": {},
        "terminal": {},
        "parent": parent_token(setup.parent_id),
    }
    for role in Role:
        district = "Almaly" if role is Role.DISTRICT_ADMIN else None
        headers[role.value] = admin_token(role, (setup.school_id,), district)[1]
    app.state.ctx.egov = RejectingEgov()  # production has eGov configured; its absence answers 503
    schema = _schema(app)
    ran: Counter[str] = Counter()
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) > 50

    for operation in operations:
        _fuzz(operation, headers, setup, ran, failures)

    total = sum(ran.values())
    print(f"\nfuzzed {len(operations)} operations, {total} cases, {len(failures)} failing")
    for key, text in sorted(failures.items()):
        print(f"\n=== {key}\n{text}")
    assert not failures, sorted(failures)


def _fuzz(
    operation: APIOperation[Any, Any, Any, Any],
    headers: dict[str, dict[str, str]],
    setup: Setup,
    ran: Counter[str],
    failures: dict[str, str],
) -> None:
    """Every phase schemathesis has for one operation: the schema's examples, the coverage phase's
    boundary and type-breaking values, then positive and negative fuzzing; each case as every caller."""

    def send(case: schemathesis.Case[Any]) -> None:
        for caller in CALLERS:
            ran[operation.label] += 1
            sent = dict(headers[caller])
            if caller == "terminal" and operation.path.startswith(API):
                sent.update(setup.device.auth(case.method, case.formatted_path[len(API) :]))
            try:
                case.call_and_validate(headers=sent)
            except BaseException as exc:
                mode = case.meta.generation.mode.value if case.meta else "?"
                failures.setdefault(f"{operation.label} [{mode}, {caller}]", str(exc)[:1500])

    test = create_test(
        operation=operation,
        test_func=send,
        config=HypothesisTestConfig(
            project=operation.schema.config,
            modes=list(HypothesisTestMode),
            settings=hypothesis_settings(
                max_examples=EXAMPLES,
                derandomize=True,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            ),
        ),
    )
    test()

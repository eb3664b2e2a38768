"""The committed vectors verify to their expected results, and regenerating them changes no byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared_crypto import Reason
from tests.vectors import OBJECTS, VECTOR_DIR, check, load
from tests.vectors.generate import main as generate

ALL = [(obj, v) for obj in OBJECTS for v in load(obj)["vectors"]]


@pytest.mark.parametrize(("obj", "vector"), ALL, ids=[f"{o}/{v['id']}" for o, v in ALL])
def test_vector_verifies_to_expected(obj: str, vector: dict[str, Any]) -> None:
    assert check(obj, vector) == vector["expected"]


def test_regenerating_gives_identical_files(tmp_path: Path) -> None:
    generate(tmp_path)
    for obj in OBJECTS:
        assert (tmp_path / f"{obj}.json").read_bytes() == (VECTOR_DIR / f"{obj}.json").read_bytes(), obj


def test_every_reason_code_has_a_vector() -> None:
    reasons = {v["expected"].get("reason") for _, v in ALL}
    assert {r.value for r in Reason} <= reasons


def test_every_object_has_valid_and_invalid_vectors() -> None:
    for obj in OBJECTS:
        kinds = {v["expected"]["valid"] for v in load(obj)["vectors"]}
        assert kinds == {True, False}, obj


def test_a_changed_expectation_is_caught() -> None:
    """The checker really compares: a vector with a wrong expected reason does not pass."""
    vector = next(v for o, v in ALL if o == "voucher_token" and v["id"] == "expired")
    assert check("voucher_token", vector) != {"valid": False, "reason": "NOT_YET_VALID"}


def test_readme_table_counts_match_the_files() -> None:
    readme = (VECTOR_DIR / "README.md").read_text(encoding="utf-8")
    for obj in OBJECTS:
        vectors = load(obj)["vectors"]
        valid = sum(v["expected"]["valid"] for v in vectors)
        assert f"`{obj}.json`" in readme and f"| {len(vectors)} ({valid}) |" in readme, obj


ALL_OBJECTS = set(OBJECTS)
# The reason-code table of docs/formats.md: which objects each code applies to.
APPLIES = {
    "MALFORMED": ALL_OBJECTS,
    "TOO_LARGE": ALL_OBJECTS,
    "UNSUPPORTED_ALG": ALL_OBJECTS,
    "HEADER_CONFLICT": ALL_OBJECTS,
    "UNKNOWN_KID": ALL_OBJECTS,
    "WRONG_KEY_ROLE": ALL_OBJECTS - {"trust_list"},
    "KEY_NOT_VALID": {"voucher_token", "card_credential", "allowlist_bundle", "device_auth"},
    "BAD_SIGNATURE": ALL_OBJECTS,
    "NOT_YET_VALID": {"voucher_token", "device_auth"},
    "EXPIRED": {"voucher_token", "allowlist_bundle", "trust_list", "device_auth"},
    "WRONG_SCHOOL": {"voucher_token", "card_credential", "allowlist_bundle"},
    "SUPERSEDED": {"voucher_token"},
    "REVOKED": {"voucher_token"},
    "ROLLBACK": {"allowlist_bundle", "trust_list"},
    "CARD_MISMATCH": {"card_credential"},
}


def test_one_vector_per_applicable_reason_and_object() -> None:
    assert set(APPLIES) == {r.value for r in Reason}
    for reason, objects in APPLIES.items():
        having = {o for o, v in ALL if v["expected"].get("reason") == reason}
        assert having == objects, reason

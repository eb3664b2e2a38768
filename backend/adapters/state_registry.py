"""The state categories register (targeted social assistance, income below the subsistence minimum,
orphans): an interface, an in-memory adapter and a file adapter reading the register's export."""

from __future__ import annotations

import csv
import enum
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol


class Category(enum.StrEnum):
    """The state categories of the order (Annex 1, point 5), as the register names them."""

    TARGETED_ASSISTANCE = "targeted_social_assistance"
    BELOW_SUBSISTENCE = "below_subsistence_minimum"
    ORPHAN_NO_CARE = "orphan_or_no_parental_care"


class ReturnReason(enum.StrEnum):
    NOT_IN_REGISTER = "NOT_IN_REGISTER"
    CATEGORY_EXPIRED = "CATEGORY_EXPIRED"
    CATEGORY_MISMATCH = "CATEGORY_MISMATCH"


@dataclass(frozen=True, slots=True)
class CategoryRecord:
    iin: str
    category: str  # a category code (the order's are `Category` values)
    valid_from: date
    valid_to: date  # inclusive


class StateRegistry(Protocol):
    def check(self, iin: str, category: str, on: date) -> ReturnReason | None:
        """None when the pupil holds `category` on that date; else why not."""
        ...


class InMemoryRegistry:
    def __init__(self, records: Iterable[CategoryRecord] = ()) -> None:
        self._by_iin: dict[str, list[CategoryRecord]] = defaultdict(list)
        for r in records:
            self._by_iin[r.iin].append(r)

    def add(self, record: CategoryRecord) -> None:
        self._by_iin[record.iin].append(record)

    def check(self, iin: str, category: str, on: date) -> ReturnReason | None:
        records = self._by_iin.get(iin)
        if not records:
            return ReturnReason.NOT_IN_REGISTER
        same = [r for r in records if r.category == category]
        if not same:
            return ReturnReason.CATEGORY_MISMATCH
        if any(r.valid_from <= on <= r.valid_to for r in same):
            return None
        return ReturnReason.CATEGORY_EXPIRED


class FileRegistry(InMemoryRegistry):
    """CSV (header iin,category,valid_from,valid_to) or JSON (a list of such objects); ISO dates."""

    def __init__(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix.lower() == ".json":
            rows = json.loads(text)
        else:
            rows = list(csv.DictReader(text.splitlines()))
        super().__init__(
            CategoryRecord(
                iin=str(r["iin"]).strip(),
                category=str(r["category"]).strip(),
                valid_from=date.fromisoformat(str(r["valid_from"]).strip()),
                valid_to=date.fromisoformat(str(r["valid_to"]).strip()),
            )
            for r in rows
        )

"""Row validation for the national education database export. Pure: no I/O.

Each kind has its columns (CSV header names or JSON keys):
- schools: bin, name, region, district
- pupils: iin, full_name, grade, class_name, school_bin
- parents: iin, full_name, phone (empty: none on record), language (kk | ru | kk+ru, optional)
- links: pupil_iin, parent_iin, role (mother | father | guardian | trustee)

Row numbers are what a person sees: the CSV line (header = 1, first data row = 2) or the 1-based
position in the JSON list.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from backend.consent.model import ROLES
from backend.consent.texts import Lang
from backend.eligibility.model import MAX_GRADE, MIN_GRADE
from backend.roster.iin import is_valid_iin
from backend.sms.phones import normalize_phone


class ImportKind(enum.StrEnum):
    SCHOOLS = "schools"
    PUPILS = "pupils"
    PARENTS = "parents"
    LINKS = "links"


class ImportReason(enum.StrEnum):
    """Why a whole file is refused (a row's rejection is a RejectReason in the report)."""

    MALFORMED = "IMPORT_MALFORMED"
    TOO_LARGE = "IMPORT_TOO_LARGE"
    TOO_MANY_ROWS = "IMPORT_TOO_MANY_ROWS"
    # a background job's: its runner stopped (a restart) before it ended; nothing of it was saved
    INTERRUPTED = "IMPORT_INTERRUPTED"
    NOT_RESTARTABLE = "IMPORT_NOT_RESTARTABLE"  # only an interrupted job starts again


class ImportPhase(enum.StrEnum):
    """What an import is doing, in order: reading the file, checking its rows, saving them."""

    PARSING = "parsing"
    CHECKING = "checking"
    SAVING = "saving"


# How much of the whole each phase is, for one progress bar over all three (percent, summing to 100):
# reading is quick, saving (lookups, upserts, voucher moves, consent resumed) takes longest.
PHASE_WEIGHTS: dict[ImportPhase, int] = {
    ImportPhase.PARSING: 10,
    ImportPhase.CHECKING: 30,
    ImportPhase.SAVING: 60,
}


def overall_percent(phase: ImportPhase, done: int, total: int) -> int:
    """The whole import's percent when `phase` has `done` of `total` units behind it."""
    before = 0
    for p, weight in PHASE_WEIGHTS.items():
        if p is phase:
            share = min(done, total) * weight // total if total > 0 else 0
            return before + share
        before += weight
    raise ValueError(phase)


class RejectReason(enum.StrEnum):
    MALFORMED = "MALFORMED"  # the file or row cannot be read at all
    MISSING_FIELD = "MISSING_FIELD"
    IIN_INVALID = "IIN_INVALID"
    BIN_INVALID = "BIN_INVALID"
    GRADE_INVALID = "GRADE_INVALID"
    PHONE_INVALID = "PHONE_INVALID"
    ROLE_INVALID = "ROLE_INVALID"
    LANGUAGE_INVALID = "LANGUAGE_INVALID"
    SCHOOL_UNKNOWN = "SCHOOL_UNKNOWN"
    OUT_OF_SCOPE = "OUT_OF_SCOPE"  # a school or pupil outside the importing admin's district
    PUPIL_UNKNOWN = "PUPIL_UNKNOWN"
    PARENT_UNKNOWN = "PARENT_UNKNOWN"
    DUPLICATE = "DUPLICATE"  # the same key twice in one file
    FIELD_TOO_LONG = "FIELD_TOO_LONG"  # longer than the column that stores it (FIELD_MAX)


REQUIRED: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.SCHOOLS: ("bin", "name", "region", "district"),
    ImportKind.PUPILS: ("iin", "full_name", "grade", "class_name", "school_bin"),
    ImportKind.PARENTS: ("iin", "full_name"),
    ImportKind.LINKS: ("pupil_iin", "parent_iin", "role"),
}


@dataclass(frozen=True, slots=True)
class Rejection:
    row: int
    reason: RejectReason
    detail: str


@dataclass(frozen=True, slots=True)
class SchoolRow:
    row: int
    bin: str
    name: str
    region: str
    district: str


@dataclass(frozen=True, slots=True)
class PupilRow:
    row: int
    iin: str
    full_name: str
    grade: int
    class_name: str
    school_bin: str


@dataclass(frozen=True, slots=True)
class ParentRow:
    row: int
    iin: str
    full_name: str
    phone: str | None
    language: str


@dataclass(frozen=True, slots=True)
class LinkRow:
    row: int
    pupil_iin: str
    parent_iin: str
    role: str


Row = SchoolRow | PupilRow | ParentRow | LinkRow


def read_records(
    data: bytes, filename: str, on_read: Callable[[int, int], None] | None = None, every: int = 1000
) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(row number, record) from CSV (by default) or JSON (`.json`: a list of objects). `on_read(read,
    total)` hears how much of the text was read (characters), every `every` records and at the end."""
    text = data.decode("utf-8-sig")
    total = len(text)
    if filename.lower().endswith(".json"):
        items = json.loads(text)  # one step: a JSON text is read whole
        if not isinstance(items, list):
            raise ValueError("a JSON export is a list of objects")
        if on_read is not None:
            on_read(total, total)
        for i, item in enumerate(items, start=1):
            yield i, item if isinstance(item, dict) else {}
        return
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
    buf = io.StringIO(text)
    reader = csv.DictReader(buf, dialect=dialect)
    for n, record in enumerate(reader, start=1):
        if on_read is not None and n % every == 0:
            on_read(buf.tell(), total)
        yield n + 1, {(k or "").strip().lower(): v for k, v in record.items()}
    if on_read is not None:
        on_read(total, total)


# Longest value each stored field takes (its column's length); any other field at most FIELD_MAX_OTHER.
FIELD_MAX = {"name": 300, "full_name": 300, "region": 100, "district": 100, "class_name": 20}
FIELD_MAX_OTHER = 300


def _field_problem(rec: Mapping[str, Any]) -> Rejection | None:
    for name, value in rec.items():
        text = "" if value is None else str(value)
        if len(text) > FIELD_MAX.get(name, FIELD_MAX_OTHER):
            return Rejection(0, RejectReason.FIELD_TOO_LONG, f"{str(name)[:40]} is longer than allowed")
        if "\x00" in text:
            return Rejection(0, RejectReason.MALFORMED, f"{str(name)[:40]} holds a NUL character")
    return None


def _field(rec: Mapping[str, Any], name: str) -> str:
    value = rec.get(name)
    return "" if value is None else str(value).strip()


def validate(kind: ImportKind, row: int, rec: Mapping[str, Any]) -> Row | Rejection:
    problem = _field_problem(rec)
    if problem is not None:
        return Rejection(row, problem.reason, problem.detail)
    missing = [f for f in REQUIRED[kind] if not _field(rec, f)]
    if missing:
        return Rejection(row, RejectReason.MISSING_FIELD, f"missing {', '.join(missing)}")

    def f(name: str) -> str:
        return _field(rec, name)

    if kind is ImportKind.SCHOOLS:
        if not (len(f("bin")) == 12 and f("bin").isdigit()):
            return Rejection(row, RejectReason.BIN_INVALID, "a BIN is 12 digits")
        return SchoolRow(row, f("bin"), f("name"), f("region"), f("district"))
    if kind is ImportKind.PUPILS:
        if not is_valid_iin(f("iin")):
            return Rejection(row, RejectReason.IIN_INVALID, "not a valid IIN (12 digits, check digit)")
        try:
            grade = int(f("grade"))
        except ValueError:
            grade = -1
        if not MIN_GRADE <= grade <= MAX_GRADE:
            return Rejection(row, RejectReason.GRADE_INVALID, f"grade {f('grade')!r} is not 1..11")
        return PupilRow(row, f("iin"), f("full_name"), grade, f("class_name"), f("school_bin"))
    if kind is ImportKind.PARENTS:
        if not is_valid_iin(f("iin")):
            return Rejection(row, RejectReason.IIN_INVALID, "not a valid IIN (12 digits, check digit)")
        phone: str | None = None
        if f("phone"):
            phone = normalize_phone(f("phone"))
            if phone is None:
                return Rejection(row, RejectReason.PHONE_INVALID, "not a Kazakhstan mobile number")
        language = f("language") or Lang.BOTH.value
        if language not in {lang.value for lang in Lang}:
            return Rejection(row, RejectReason.LANGUAGE_INVALID, "language is kk, ru or kk+ru")
        return ParentRow(row, f("iin"), f("full_name"), phone, language)
    for name in ("pupil_iin", "parent_iin"):
        if not is_valid_iin(f(name)):
            return Rejection(row, RejectReason.IIN_INVALID, f"{name} is not a valid IIN")
    role = f("role").lower()
    if role not in ROLES:
        return Rejection(row, RejectReason.ROLE_INVALID, "role is mother, father, guardian or trustee")
    return LinkRow(row, f("pupil_iin"), f("parent_iin"), role)


def key_of(row: Row) -> tuple[str, ...]:
    """What makes a row unique within one file."""
    if isinstance(row, SchoolRow):
        return (row.bin,)
    if isinstance(row, PupilRow | ParentRow):
        return (row.iin,)
    return (row.pupil_iin, row.parent_iin)

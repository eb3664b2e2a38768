"""Constrained input types shared by the routers: the OpenAPI description states what the handlers accept.

Database ids are BIGINT on PostgreSQL and 64-bit INTEGER on SQLite; an id outside 1..2⁶³−1 cannot name
a row, so it is refused as malformed (422) before any query, instead of overflowing the driver (500).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

MAX_ID = 2**63 - 1

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
RequiredIdQuery = Annotated[int, Query(ge=1, le=MAX_ID)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# Money in tiyn and other counts stored in BIGINT columns.
Count = Annotated[int, Field(ge=0, le=MAX_ID)]
# A Kazakhstan mobile number as people write it (+7 701 234 56 78, 8 (701) 234-56-78, 7012345678): exactly
# what backend.sms.phones.normalize_phone reads, so a number of this form is never refused as malformed.
Phone = Annotated[
    str,
    Field(min_length=10, max_length=20, pattern=r"^(\+7|[78])?[ ()\-]*([0-9][ ()\-]*){10}$"),
]
# A calendar month, YYYY-MM.
Month = Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", examples=["2026-09"])]

"""What other features may read of the eligibility lists: read functions and sub-selects, never the
table classes."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Select, Subquery, select

from .tables import EligibilityList


def list_ids_of_schools(school_ids: Collection[int]) -> Select[int]:
    """The ids of these schools' lists, as a sub-select for the caller's own query (one round trip)."""
    return select(EligibilityList.id).where(EligibilityList.school_id.in_(sorted(school_ids)))


def school_lists(school_ids: Collection[int]) -> Subquery:
    """These schools' lists as a sub-query with columns `list_id` and `school_id`, to join on."""
    return (
        select(EligibilityList.id.label("list_id"), EligibilityList.school_id)
        .where(EligibilityList.school_id.in_(sorted(school_ids)))
        .subquery()
    )

"""Complaints forwarded to e-Otinish, the state appeals system, through the outbound delivery adapters
(`backend.delivery`: a file drop or HTTP JSON, retried, receipted). The appeal carries the complaint,
the school and district, never the pupil's name or IIN; the receipt becomes the appeal's reference and
the complaint's status `forwarded`. Document format `sm-eotinish-appeal/1` (docs/backend-schoolyear.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.delivery.services import Receipt
from backend.roster.tables import School

from .model import ComplaintStatus
from .tables import ComplaintRow

EOTINISH = "eotinish"
FORMAT = "sm-eotinish-appeal/1"


def appeal(row: ComplaintRow, school: School) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "complaint_id": row.id,
        "received_at": row.created_at.isoformat(),
        "district": row.district,
        "school_bin": school.bin,
        "school_name": school.name,
        "subject": "school meals",
        "text": row.text,
        "meal_event_id": row.event_id.hex() if row.event_id else None,
    }


def on_receipt(session: Session, delivery: Receipt) -> None:
    """The appeal was receipted: the complaint is forwarded (unless already answered or closed)."""
    complaint_id = int(delivery.key.rsplit(":", 1)[1])
    row = session.get(ComplaintRow, complaint_id)
    if row is None:
        return
    row.forwarded_at, row.appeal_ref = delivery.delivered_at, delivery.receipt
    if row.status == ComplaintStatus.RECEIVED:
        row.status = ComplaintStatus.FORWARDED.value

"""Words the console takes from Python: role names, list and act states, reasons. Marked with N_ so the
catalog extraction finds them; the templates translate them with _()."""

from __future__ import annotations

from ..texts import N_

ROLES: dict[str, str] = {
    "district_admin": N_("District admin"),
    "school_head": N_("School head"),
    "social_pedagogue": N_("Social pedagogue"),
    "technician": N_("Technician"),
    "canteen_staff": N_("Canteen staff"),
    "supplier": N_("Supplier"),
}

LIST_STATES: dict[str, str] = {
    "draft": N_("Being formed"),
    "approved": N_("Approved by the head"),
    "checked": N_("Cross-checked"),
}

RESULTS: dict[str, str] = {
    "confirmed": N_("Confirmed"),
    "returned": N_("Returned"),
}

FOLLOWUPS: dict[str, str] = {
    "NO_PHONE": N_("No phone on record"),
    "UNLINKED": N_("No linked parent"),
}

ACT_STATES: dict[str, str] = {
    "draft": N_("Month not over"),
    "available": N_("Ready for signing"),
    "overdue": N_("Overdue"),
    "signed": N_("Signed"),
}

JOB_STATES: dict[str, str] = {
    "queued": N_("Waiting to start"),
    "running": N_("Importing"),
    "done": N_("Finished"),
    "failed": N_("Failed"),
}

IMPORT_KINDS: dict[str, str] = {
    "schools": N_("Schools"),
    "pupils": N_("Pupils"),
    "parents": N_("Parents"),
    "links": N_("Pupils' parents"),
}

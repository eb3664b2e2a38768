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
    "draft": N_("Month not over"),  # before the money steps start (backend.billing.steps after month end)
}

# The money steps (backend.billing.steps): what an act waits for, and each step as its history shows it.
WAITING: dict[str, str] = {
    "generated": N_("Waiting for the month's timesheet"),
    "submitted": N_("Waiting for the social pedagogue to submit the timesheet"),
    "head_signed": N_("Waiting for the head's signature"),
    "supplier_signed": N_("Waiting for the supplier's signature"),
    "district_accepted": N_("Waiting for the district's acceptance"),
    "sent_for_payment": N_("Accepted, waiting for the payment register"),
    "paid": N_("Sent for payment"),
}

STEPS_DONE: dict[str, str] = {
    "generated": N_("Timesheet generated"),
    "submitted": N_("Timesheet submitted by the social pedagogue"),
    "head_signed": N_("Signed by the head"),
    "supplier_signed": N_("Signed by the supplier"),
    "district_accepted": N_("Accepted by the district"),
    "sent_for_payment": N_("Sent for payment"),
}

# The buttons of the steps a person does.
STEP_BUTTONS: dict[str, str] = {
    "submitted": N_("Submit the timesheet"),
    "head_signed": N_("Sign the act"),
    "supplier_signed": N_("Sign the act as the supplier"),
    "district_accepted": N_("Accept the act for payment"),
}

STEP_FLAGS: dict[str, str] = {
    "overdue": N_("Overdue"),
    "late": N_("Done late"),
}

JOB_STATES: dict[str, str] = {
    "queued": N_("Waiting to start"),
    "running": N_("Importing"),
    "done": N_("Finished"),
    "failed": N_("Failed"),
    "interrupted": N_("Interrupted"),
}

# The import's phases, as the job page names them (step n of 3).
IMPORT_PHASES: dict[str, str] = {
    "parsing": N_("Reading the file"),
    "checking": N_("Checking the rows"),
    "saving": N_("Saving the rows"),
}

IMPORT_KINDS: dict[str, str] = {
    "schools": N_("Schools"),
    "pupils": N_("Pupils"),
    "parents": N_("Parents"),
    "links": N_("Pupils' parents"),
}

CATEGORIES: dict[str, str] = {
    "targeted_social_assistance": N_("Targeted social assistance"),
    "below_subsistence_minimum": N_("Income below the subsistence minimum"),
    "orphan_or_no_parental_care": N_("Orphan or without parental care"),
}

RETURN_REASONS: dict[str, str] = {
    "NOT_IN_REGISTER": N_("Not in the state register"),
    "CATEGORY_EXPIRED": N_("The category has expired"),
    "CATEGORY_MISMATCH": N_("The register holds another category"),
}

FLAGS: dict[str, str] = {
    "DOUBLE_MEAL": N_("A second meal in the same slot"),
    "AFTER_REVOCATION": N_("Served after the voucher was revoked or suspended"),
    "VOUCHER_INACTIVE": N_("The voucher was not active"),
    "CLOCK_OFF": N_("The terminal's clock could not be trusted"),
    "NON_SCHOOL_DAY": N_("Not a school day"),
    "OUTSIDE_SLOT": N_("Outside the meal times"),
    "OVER_DAILY_CAPACITY": N_("More meals than active vouchers"),
    "UNKNOWN_VOUCHER": N_("Unknown voucher"),
    "WRONG_SCHOOL": N_("A voucher of another school"),
}

MEAL_STATES: dict[str, str] = {
    "ok": N_("Served"),
    "flagged": N_("Held for a decision"),
    "accepted_by_admin": N_("Accepted"),
    "rejected_by_admin": N_("Struck off"),
}

WEEKDAYS: tuple[str, ...] = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)

"""The API edge's one table from a domain reason to its HTTP status, and the answers it gives.

Every reason enum a feature raises is listed here; a test holds the table complete, so a new reason
cannot reach a client as an unplanned status. Families whose every reason answers alike (a refused
device token, a refused batch) are mapped by their error class."""

from __future__ import annotations

import enum
from collections.abc import Mapping

from backend.adapters.egov import EgovReason
from backend.auth.model import AuthReason
from backend.billing.model import BillingReason
from backend.billing.services import BillingApiReason
from backend.billing.steps import StepReason
from backend.calendar.model import CalendarReason
from backend.consent.model import ConsentReason
from backend.eligibility.model import ListReason
from backend.errors import CommonReason, DomainError
from backend.feedback.model import FeedbackReason
from backend.fleet.device_auth import DeviceAuthError
from backend.fleet.model import FleetReason
from backend.imports.model import ImportReason
from backend.ingest.model import ReviewReason
from backend.ingest.services import BatchRejected, IngestReason
from backend.menu.model import MenuReason
from backend.notify.model import NotifyReason
from backend.passes.model import PassReason
from backend.reporting.model import ReportReason
from backend.roster.district import DistrictReason
from backend.vouchers.model import VoucherReason
from backend.vouchers.transfers import TransferReason
from shared_crypto import Reason as VerifyReason

BAD, UNAUTH, FORBIDDEN, MISSING, CONFLICT, GONE, TOO_LARGE, TOO_MANY, UNAVAILABLE = (
    400,
    401,
    403,
    404,
    409,
    410,
    413,
    429,
    503,
)

STATUS: Mapping[type[enum.StrEnum], Mapping[str, int]] = {
    CommonReason: {
        CommonReason.NOT_FOUND: MISSING,
        CommonReason.INVALID_REQUEST: 422,
        CommonReason.CHOOSE_ONE: BAD,
    },
    AuthReason: {
        AuthReason.UNAUTHENTICATED: UNAUTH,
        AuthReason.BAD_CREDENTIALS: UNAUTH,
        AuthReason.LOGIN_LOCKED: TOO_MANY,
        AuthReason.FORBIDDEN: FORBIDDEN,
        AuthReason.OTP_INVALID: UNAUTH,
        AuthReason.OTP_RATE_LIMITED: TOO_MANY,
        AuthReason.PHONE_INVALID: BAD,
        AuthReason.NOT_A_PARENT: FORBIDDEN,
        AuthReason.DISTRICT_REQUIRED: BAD,
    },
    EgovReason: {EgovReason.EGOV_UNAVAILABLE: UNAVAILABLE, EgovReason.EGOV_REJECTED: UNAUTH},
    ListReason: {
        ListReason.WRONG_STATE: CONFLICT,
        ListReason.CATEGORY_REQUIRED: BAD,
        ListReason.GRADE_INVALID: BAD,
        ListReason.DUPLICATE: CONFLICT,
        ListReason.EMPTY_LIST: CONFLICT,
        ListReason.MONTH_INVALID: BAD,
        ListReason.CATEGORY_UNKNOWN: BAD,
        ListReason.CATEGORY_CODE_INVALID: BAD,
        ListReason.CATEGORY_NAME_MISSING: BAD,
        ListReason.PLAN_UNKNOWN: BAD,
        ListReason.COMMENT_REQUIRED: BAD,
    },
    DistrictReason: {DistrictReason.YEAR_END_INVALID: BAD},
    TransferReason: {
        TransferReason.SAME_SCHOOL: CONFLICT,
        TransferReason.MOVE_IN_FUTURE: BAD,
        TransferReason.MOVE_BEFORE_YEAR: BAD,
    },
    MenuReason: {
        MenuReason.MENU_EMPTY: BAD,
        MenuReason.DISH_INVALID: BAD,
        MenuReason.TOO_MANY_DISHES: BAD,
        MenuReason.SLOT_UNKNOWN: BAD,
        MenuReason.RANGE_TOO_LONG: BAD,
    },
    # The money steps: a step out of turn or on an old version conflicts; another role's step is refused.
    StepReason: {
        StepReason.STEP_OUT_OF_ORDER: CONFLICT,
        StepReason.STEP_DONE: CONFLICT,
        StepReason.STALE_VERSION: CONFLICT,
        StepReason.WRONG_ROLE: FORBIDDEN,
    },
    ConsentReason: {
        ConsentReason.NOT_DECIDED: CONFLICT,
        ConsentReason.WEBHOOK_UNAUTHENTICATED: UNAUTH,
        ConsentReason.NO_PENDING: CONFLICT,
    },
    NotifyReason: {NotifyReason.BAD_SUBSCRIPTION: BAD},
    PassReason: {PassReason.LINK_USED: GONE, PassReason.LINK_EXPIRED: GONE, PassReason.REVOKED: GONE},
    VoucherReason: {
        VoucherReason.NOT_ACTIVE: CONFLICT,
        VoucherReason.PLAN_UNCHANGED: CONFLICT,
        VoucherReason.REASON_REQUIRED: BAD,
        VoucherReason.SERIAL_EXHAUSTED: CONFLICT,
        VoucherReason.TRANSITION_NOT_ALLOWED: CONFLICT,
        # the district decides whether schools activate unlinked grade 1–4 vouchers
        VoucherReason.SCHOOL_ACTIVATION_OFF: FORBIDDEN,
        VoucherReason.PARENT_ACTIVATES: CONFLICT,
    },
    ImportReason: {ImportReason.MALFORMED: BAD, ImportReason.TOO_LARGE: TOO_LARGE},
    CalendarReason: {
        CalendarReason.BAD_SLOT: BAD,
        CalendarReason.OVERLAPPING_SLOTS: BAD,
        CalendarReason.BAD_TARIFF: BAD,
        CalendarReason.BAD_WEEKDAYS: BAD,
        CalendarReason.UNKNOWN_SLOT: BAD,
        CalendarReason.BAD_RANGE: BAD,
    },
    FleetReason: {
        FleetReason.CODE_UNKNOWN: MISSING,
        FleetReason.CODE_EXPIRED: GONE,
        FleetReason.CODE_USED: CONFLICT,
        FleetReason.BAD_PUBLIC_KEY: BAD,
        FleetReason.KEY_IN_USE: CONFLICT,
        FleetReason.NO_SUCH_TERMINAL: MISSING,
        FleetReason.TERMINAL_RETIRED: CONFLICT,
        FleetReason.BAD_HEALTH: BAD,
        FleetReason.TOO_LARGE: TOO_LARGE,
        FleetReason.BAD_NONCE: BAD,
        FleetReason.NO_SUCH_SCHOOL: MISSING,
        FleetReason.BAD_CANTEEN: BAD,
        FleetReason.NO_SUCH_PUPIL: MISSING,
        FleetReason.BAD_UID: BAD,
        FleetReason.CARD_ALREADY_REGISTERED: CONFLICT,
        FleetReason.NO_DEVICE_AUTH: UNAUTH,
        FleetReason.TERMINAL_MISMATCH: UNAUTH,
    },
    IngestReason: {
        IngestReason.WRONG_CONTENT_TYPE: BAD,
        IngestReason.TOO_LARGE: TOO_LARGE,
        IngestReason.KEY_MISMATCH: FORBIDDEN,
        IngestReason.TERMINAL_MISMATCH: FORBIDDEN,
    },
    ReviewReason: {ReviewReason.NOT_FLAGGED: CONFLICT},
    FeedbackReason: {
        FeedbackReason.ALREADY_RATED: CONFLICT,
        FeedbackReason.ALREADY_RESOLVED: CONFLICT,
        FeedbackReason.ALREADY_CLOSED: CONFLICT,
        FeedbackReason.BAD_STARS: BAD,
        FeedbackReason.EMPTY_COMPLAINT: BAD,
        FeedbackReason.NOT_SERVED: CONFLICT,
        FeedbackReason.TEXT_TOO_LONG: BAD,
    },
    ReportReason: {ReportReason.BAD_DATE: BAD, ReportReason.BAD_FORMAT: BAD, ReportReason.FUTURE_DATE: BAD},
    # A month that cannot be read is bad input; a month that cannot be priced waits for its data.
    BillingReason: {
        BillingReason.BAD_MONTH: BAD,
        BillingReason.NO_TARIFF: CONFLICT,
        BillingReason.UNKNOWN_PLAN: CONFLICT,
    },
    BillingApiReason: {
        BillingApiReason.NO_SUPPLIER: CONFLICT,
        BillingApiReason.MONTH_NOT_OVER: CONFLICT,
        BillingApiReason.STALE_VERSION: CONFLICT,
        BillingApiReason.ALREADY_SIGNED: CONFLICT,
        BillingApiReason.BAD_FORMAT: BAD,
    },
}

# Error classes whose reasons are shared_crypto's verification codes: the class decides the status.
STATUS_BY_ERROR: Mapping[type[DomainError], int] = {DeviceAuthError: UNAUTH, BatchRejected: BAD}
# Within a class family, a verification reason that answers otherwise.
OVERRIDES: Mapping[tuple[type[DomainError], str], int] = {(BatchRejected, VerifyReason.TOO_LARGE): TOO_LARGE}


class UnmappedReason(LookupError):
    """A reason the table does not list: a programming error, caught by the table's test."""


def status_of(error: DomainError) -> int:
    """Class-and-reason overrides first, then the error's class family, then the reason's own row."""
    for cls in type(error).__mro__:
        override = OVERRIDES.get((cls, error.reason))
        if override is not None:
            return override
        family = STATUS_BY_ERROR.get(cls)
        if family is not None:
            return family
    by_reason = STATUS.get(type(error.reason), {})
    if error.reason in by_reason:
        return by_reason[error.reason]
    raise UnmappedReason(f"{type(error.reason).__name__}.{error.reason.name}")

"""The API edge's one table from a domain reason to its HTTP status, and the answers it gives.

Every reason enum a feature raises is listed here; a test holds the table complete, so a new reason
cannot reach a client as an unplanned status. Families whose every reason answers alike (a refused
device token, a refused batch) are mapped by their error class."""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from backend.adapters.egov import EgovReason
from backend.auth.model import AuthReason
from backend.billing.model import BillingReason
from backend.billing.services import BillingApiReason
from backend.billing.steps import StepReason
from backend.calendar.model import CalendarReason
from backend.consent.model import ConsentReason
from backend.eligibility.model import ListReason
from backend.error_shape import EdgeReason, error_response
from backend.errors import CommonReason, DomainError, RateLimited
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
from backend.roster.suppliers import SupplierReason
from backend.sms.webhook_auth import WebhookReason
from backend.vouchers.model import VoucherReason
from backend.vouchers.transfers import TransferReason
from shared_crypto import Reason as VerifyReason

log = logging.getLogger(__name__)

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
    # The edge's own refusals (backend.error_shape); listed so that one table holds every status.
    EdgeReason: {
        EdgeReason.BAD_REQUEST: BAD,
        EdgeReason.BODY_UNREADABLE: BAD,
        EdgeReason.UNAUTHENTICATED: UNAUTH,
        EdgeReason.FORBIDDEN: FORBIDDEN,
        EdgeReason.NOT_FOUND: MISSING,
        EdgeReason.METHOD_NOT_ALLOWED: 405,
        EdgeReason.NOT_ACCEPTABLE: 406,
        EdgeReason.TOO_LARGE: TOO_LARGE,
        EdgeReason.UNSUPPORTED_MEDIA_TYPE: 415,
        EdgeReason.JSON_TOO_DEEP: 422,
        EdgeReason.INVALID_REQUEST: 422,
        EdgeReason.RATE_LIMITED: TOO_MANY,
        EdgeReason.INTERNAL_ERROR: 500,
    },
    CommonReason: {
        CommonReason.NOT_FOUND: MISSING,
        CommonReason.INVALID_REQUEST: 422,
        CommonReason.CHOOSE_ONE: BAD,
    },
    AuthReason: {
        AuthReason.UNAUTHENTICATED: UNAUTH,
        AuthReason.BAD_CREDENTIALS: UNAUTH,
        AuthReason.LOGIN_THROTTLED: TOO_MANY,
        AuthReason.LOGIN_BUSY: TOO_MANY,
        AuthReason.OTP_THROTTLED: TOO_MANY,
        AuthReason.FORBIDDEN: FORBIDDEN,
        AuthReason.OTP_INVALID: UNAUTH,
        AuthReason.OTP_RATE_LIMITED: TOO_MANY,
        AuthReason.PHONE_INVALID: BAD,
        AuthReason.NOT_A_PARENT: FORBIDDEN,
        AuthReason.DISTRICT_REQUIRED: BAD,
        AuthReason.TOTP_REQUIRED: UNAUTH,
        AuthReason.TOTP_INVALID: BAD,
        AuthReason.BAD_LOGIN: BAD,
        AuthReason.LOGIN_TAKEN: CONFLICT,
        AuthReason.SCHOOL_REQUIRED: BAD,
        AuthReason.SUPPLIER_REQUIRED: BAD,
        AuthReason.SELF_DEACTIVATION: CONFLICT,
    },
    SupplierReason: {
        SupplierReason.BAD_BIN: BAD,
        SupplierReason.BAD_IBAN: BAD,
        SupplierReason.BAD_BIK: BAD,
        SupplierReason.NAME_REQUIRED: BAD,
        SupplierReason.BIN_TAKEN: CONFLICT,
        SupplierReason.BAD_PERIOD: BAD,
        SupplierReason.LINK_OVERLAPS: CONFLICT,
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
        ConsentReason.NO_PENDING: CONFLICT,
    },
    WebhookReason: {
        WebhookReason.UNAUTHENTICATED: UNAUTH,
        WebhookReason.EXPIRED: UNAUTH,
        WebhookReason.REPLAYED: UNAUTH,
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
    ImportReason: {
        ImportReason.MALFORMED: BAD,
        ImportReason.TOO_LARGE: TOO_LARGE,
        ImportReason.TOO_MANY_ROWS: BAD,
        ImportReason.INTERRUPTED: CONFLICT,
        ImportReason.NOT_RESTARTABLE: CONFLICT,
    },
    CalendarReason: {
        CalendarReason.BAD_SLOT: BAD,
        CalendarReason.OVERLAPPING_SLOTS: BAD,
        CalendarReason.BAD_TARIFF: BAD,
        CalendarReason.TARIFF_NOT_POSITIVE: BAD,
        CalendarReason.TARIFF_BAD_AMOUNT: BAD,
        CalendarReason.TARIFF_OVERLAPS: CONFLICT,
        CalendarReason.DEFAULT_TARIFF_NATIONAL: FORBIDDEN,
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
        IngestReason.EVENT_OUT_OF_RANGE: BAD,
    },
    ReviewReason: {ReviewReason.NOT_FLAGGED: CONFLICT},
    FeedbackReason: {
        FeedbackReason.ALREADY_RATED: CONFLICT,
        FeedbackReason.ALREADY_RESOLVED: CONFLICT,
        FeedbackReason.ALREADY_CLOSED: CONFLICT,
        FeedbackReason.ALREADY_FORWARDED: CONFLICT,
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


# The framework's own refusals, by status (the body caps answer with their own reasons).
HTTP_REASONS: Mapping[int, EdgeReason] = {
    400: EdgeReason.BODY_UNREADABLE,  # FastAPI's only 400 of its own: a body it could not parse
    401: EdgeReason.UNAUTHENTICATED,
    403: EdgeReason.FORBIDDEN,
    404: EdgeReason.NOT_FOUND,
    405: EdgeReason.METHOD_NOT_ALLOWED,
    406: EdgeReason.NOT_ACCEPTABLE,
    413: EdgeReason.TOO_LARGE,
    415: EdgeReason.UNSUPPORTED_MEDIA_TYPE,
    422: EdgeReason.INVALID_REQUEST,
    429: EdgeReason.RATE_LIMITED,
}


def _validation_answer(errors: Any) -> tuple[EdgeReason, str]:
    parts = []
    reason = EdgeReason.INVALID_REQUEST
    for e in errors:
        if e.get("type") == "json_invalid":
            reason = EdgeReason.BODY_UNREADABLE
        parts.append(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}")
    return reason, "; ".join(parts)[:1000]


def _status_of_validation(reason: EdgeReason) -> int:
    return 400 if reason is EdgeReason.BODY_UNREADABLE else 422


def _allowed_methods(request: Request) -> str:
    """Every method some route takes on this path (Starlette's own Allow names only the first route's)."""
    path = request.url.path
    methods: set[str] = set()
    for rc in iter_route_contexts(request.app.routes):
        if rc.path is not None and rc.methods and compile_path(rc.path)[0].match(path):
            methods |= set(rc.methods)
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    """Every answer that is not a success is `{"reason", "detail"}`: domain errors by the table above,
    the framework's refusals (no route, wrong method, a body that does not parse or validate) by
    HTTP_REASONS, and an unexpected failure as INTERNAL_ERROR (logged, no internals in the answer)."""

    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        try:
            status = status_of(exc)
        except UnmappedReason:
            log.exception("reason without a status")
            status = 500
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        body = {"reason": exc.reason, "detail": exc.detail, **exc.extra}
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        reason, detail = _validation_answer(exc.errors())
        return error_response(reason, detail, _status_of_validation(reason))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        reason = HTTP_REASONS.get(exc.status_code, EdgeReason.BAD_REQUEST)
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        return error_response(reason, str(exc.detail)[:1000], exc.status_code, headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, _exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(EdgeReason.INTERNAL_ERROR, "the server failed; the incident is logged", 500)

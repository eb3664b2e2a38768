"""Words the pages take from Python: reason lists, states, error messages. Marked with N_ so the
catalog extraction finds them; templates translate them with _() when they show them."""

from __future__ import annotations

import enum

from backend.adapters.egov import EgovReason
from backend.auth.model import AuthReason
from backend.consent.model import ConsentReason
from backend.errors import CommonReason
from backend.feedback.model import ComplaintStatus, FeedbackReason
from backend.passes.model import PassReason
from backend.vouchers.model import VoucherReason, VoucherStatus


class PageCode(enum.StrEnum):
    """Codes only pages show: no domain error carries them."""

    CSRF_FAILED = "CSRF_FAILED"  # a form without a valid CSRF token
    NO_PASS = "NO_PASS"  # noqa: S105 - a code, not a secret: a browser with no pass installed asked for its data


def N_(message: str) -> str:
    """Marks a message for extraction; translated later, in the reader's language."""
    return message


# Why a parent refuses a voucher: a fixed list, plus "other" with the parent's own words.
REFUSAL_REASONS: dict[str, str] = {
    "home_meals": N_("The child eats at home or brings food"),
    "diet": N_("The child needs a special diet the canteen does not offer"),
    "quality": N_("We are not satisfied with the canteen's meals"),
    "not_needed": N_("We do not need the support"),
    "other": N_("Another reason"),
}

VOUCHER_STATES: dict[str, str] = {
    VoucherStatus.AWAITING_ACTIVATION: N_("Waiting for you to activate it"),
    VoucherStatus.ACTIVE: N_("Active: the child can eat"),
    VoucherStatus.REFUSED: N_("Refused"),
    VoucherStatus.SUSPENDED: N_("Suspended"),
    VoucherStatus.REVOKED: N_("Revoked"),
    VoucherStatus.EXPIRED: N_("Expired"),
}

NEXT_STEP: dict[str, str] = {
    VoucherStatus.AWAITING_ACTIVATION: N_("Activate the voucher, or refuse it and say why."),
    VoucherStatus.ACTIVE: N_("Share the pass with your child's phone, or let the child use the ID card."),
    VoucherStatus.REFUSED: N_("You can still activate it this school year if you change your mind."),
    VoucherStatus.SUSPENDED: N_("The school is checking the child's eligibility. Nothing to do for now."),
    VoucherStatus.REVOKED: N_("The district revoked this voucher. Ask the school's social pedagogue why."),
    VoucherStatus.EXPIRED: N_("The school year is over. A new voucher comes with the next list."),
}

COMPLAINT_STATES: dict[str, str] = {
    ComplaintStatus.RECEIVED: N_("Being looked at"),
    ComplaintStatus.FORWARDED: N_("Forwarded to e-Otinish"),
    ComplaintStatus.ANSWERED: N_("Answered"),
    ComplaintStatus.CLOSED: N_("Closed"),
}

MEAL = N_("Meal")  # a slot without a name of its own
MEAL_SLOTS: dict[int, str] = {
    1: N_("Breakfast"),
    2: N_("Lunch"),
    3: N_("Afternoon snack"),
}

NOTICE_KINDS: dict[str, str] = {
    "meal_served": N_("Your child has eaten"),
    "voucher_suspended": N_("The voucher was suspended"),
    "voucher_revoked": N_("The voucher was revoked"),
    "voucher_expired": N_("The voucher has expired"),
    "consent_agreed": N_("You agreed to the meals"),
    "consent_declined": N_("You declined the meals"),
    "consent_expired": N_("The consent request closed without an answer"),
}

# Error reasons a parent can meet, in plain words; any other reason shows the generic message.
REASONS: dict[str, str] = {
    AuthReason.PHONE_INVALID: N_("Enter a Kazakhstan mobile number, like +7 701 234 56 78."),
    AuthReason.OTP_INVALID: N_("The code is wrong or has expired. Check the SMS or ask for a new code."),
    AuthReason.OTP_RATE_LIMITED: N_("Too many codes were asked for. Wait a few minutes and try again."),
    EgovReason.EGOV_UNAVAILABLE: N_("Signing in with eGov is not available at the moment."),
    AuthReason.NOT_A_PARENT: N_("No parent record holds this eGov account."),
    CommonReason.NOT_FOUND: N_("This page does not exist or is not yours."),
    VoucherReason.TRANSITION_NOT_ALLOWED: N_("The voucher cannot change like that in its present state."),
    VoucherReason.NOT_ACTIVE: N_("The voucher is not active. Activate it first."),
    VoucherReason.REASON_REQUIRED: N_("Say why you refuse the voucher."),
    FeedbackReason.BAD_STARS: N_("Choose from 1 to 5 stars."),
    FeedbackReason.TEXT_TOO_LONG: N_("The text is too long: at most 1000 characters."),
    FeedbackReason.EMPTY_COMPLAINT: N_("Say what went wrong."),
    FeedbackReason.ALREADY_RATED: N_("You have rated this meal already."),
    FeedbackReason.NOT_SERVED: N_("The school struck this meal off, so it cannot be rated."),
    PageCode.CSRF_FAILED: N_("The form had expired. Please try again."),
    PassReason.LINK_USED: N_("This link was opened already. Ask your parent for a new one."),
    PassReason.LINK_EXPIRED: N_("This link has expired. Ask your parent for a new one."),
    PassReason.REVOKED: N_("This pass was revoked. Ask your parent for a new one."),
    ConsentReason.NO_PENDING: N_("There is no consent request waiting for your answer."),
    CommonReason.CHOOSE_ONE: N_("Choose one of the options."),
    VoucherReason.SERIAL_EXHAUSTED: N_("No more passes can be issued this school year. Ask the school."),
    # the staff console's
    "BAD_CREDENTIALS": N_("The login or password is wrong."),
    "LOGIN_THROTTLED": N_("Too many wrong tries. Wait a few minutes and try again."),
    "TOTP_REQUIRED": N_("Enter the current code from your authenticator app."),
    "TOTP_INVALID": N_("The code does not match. Check the time on your phone."),
    "BAD_LOGIN": N_("A login is 3 to 60 characters: letters a–z, digits, dot, dash or underscore."),
    "LOGIN_TAKEN": N_("An account with this login exists already."),
    "SCHOOL_REQUIRED": N_("Choose the account's school."),
    "SUPPLIER_REQUIRED": N_("Choose the supplier the account acts for."),
    "SELF_DEACTIVATION": N_("You cannot deactivate your own account."),
    "FORBIDDEN": N_("Your role cannot open this page."),
    "BAD_BIN": N_("A BIN is 12 digits."),
    "BAD_IBAN": N_("An IBAN starts with KZ and has 20 characters."),
    "BAD_BIK": N_("A bank's BIK is 8 or 11 letters and digits."),
    "NAME_REQUIRED": N_("Enter the name."),
    "BIN_TAKEN": N_("A supplier with this BIN exists already."),
    "BAD_PERIOD": N_("The period ends before it starts."),
    "LINK_OVERLAPS": N_("Another supplier serves the school in this period."),
    "LIST_WRONG_STATE": N_("The list cannot change like that in its present state."),
    "CATEGORY_REQUIRED": N_("Pupils of grades 5 to 11 need a state category."),
    "DUPLICATE": N_("It is there already."),
    "EMPTY_LIST": N_("An empty list cannot be approved."),
    "IMPORT_MALFORMED": N_("The file cannot be read. Upload the export as CSV or XLSX."),
    "IMPORT_TOO_LARGE": N_("The file is too large."),
    "IMPORT_INTERRUPTED": N_(
        "The import stopped before it ended, most likely because the server restarted. Nothing of it was saved."
    ),
    "IMPORT_NOT_RESTARTABLE": N_("Only an interrupted import can be started again."),
    "IMPORT_FAILED": N_("The import failed on the server. Nothing of it was saved."),
    "NO_SUPPLIER": N_("No supplier serves this school in that month. Link one first."),
    "ALREADY_SIGNED": N_("This act is signed already."),
    "COMMENT_REQUIRED": N_("Say why you return the list."),
    "MONTH_NOT_OVER": N_("The month is not over yet, so its act cannot be signed."),
    "STALE_VERSION": N_("The act changed since you opened it. Open it again and check the figures."),
    "STEP_OUT_OF_ORDER": N_("An earlier step of the act is not done yet."),
    "STEP_DONE": N_("This step of the act is done already."),
    "STEP_WRONG_ROLE": N_("This step of the act is another role's."),
    "BAD_TARIFF": N_("The state's share is between zero and the price of the meal."),
    "TARIFF_NOT_POSITIVE": N_("A meal's price is more than zero."),
    "TARIFF_BAD_AMOUNT": N_("Enter an amount in tenge, for example 950 or 950.50."),
    "TARIFF_OVERLAPS": N_(
        "A period of this plan and slot starts on that day already. Choose another first day."
    ),
}
# the eligibility categories'
REASONS["CATEGORY_UNKNOWN"] = N_("Choose one of the categories in use.")

# the complaints'
REASONS.update(
    {
        "ALREADY_FORWARDED": N_("This complaint was sent to e-Otinish already."),
        "ALREADY_RESOLVED": N_("This complaint has an answer already."),
        "ALREADY_CLOSED": N_("This complaint is closed already."),
    }
)

# the school calendar's and the menu's
REASONS.update(
    {
        "INVALID_REQUEST": N_("A value in the form cannot be read. Check it and try again."),
        "BAD_SLOT": N_("Each meal ends after it starts; give times as HH:MM."),
        "OVERLAPPING_SLOTS": N_("Two meals overlap. Change their times."),
        "BAD_WEEKDAYS": N_("Choose the days of the week the school teaches."),
        "UNKNOWN_SLOT": N_("The school has no such meal."),
        "MENU_EMPTY": N_("Name at least one dish."),
        "DISH_INVALID": N_("Each dish needs its name in Kazakh and in Russian, at most 200 characters."),
        "TOO_MANY_DISHES": N_("At most 12 dishes per meal."),
        "SLOT_UNKNOWN": N_("The school has no such meal. Set its time on the calendar page first."),
    }
)

# Allergens in words, by the codes the menu accepts (backend.menu.model.ALLERGENS: the 14 of EU
# Regulation 1169/2011, Annex II); a test keeps the two in step.
ALLERGENS: dict[str, str] = {
    "gluten": N_("Cereals containing gluten"),
    "crustaceans": N_("Crustaceans"),
    "eggs": N_("Eggs"),
    "fish": N_("Fish"),
    "peanuts": N_("Peanuts"),
    "soy": N_("Soybeans"),
    "milk": N_("Milk"),
    "nuts": N_("Tree nuts"),
    "celery": N_("Celery"),
    "mustard": N_("Mustard"),
    "sesame": N_("Sesame"),
    "sulphites": N_("Sulphites"),
    "lupin": N_("Lupin"),
    "molluscs": N_("Molluscs"),
}
GENERIC_ERROR = N_("Something went wrong. Please try again later.")


def reason_text(reason: str) -> str:
    """The plain-words message (untranslated msgid) for a reason code."""
    return REASONS.get(reason, GENERIC_ERROR)

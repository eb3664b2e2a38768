"""The cast of `make demo`: one school, its supplier, four families, the staff, the calendar and tariffs.

Names are Kazakh and Russian as on real lists; IINs are made valid by `backend.roster.iin.make_iin`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from backend.auth.model import Role

DISTRICT = "Алмалы ауданы"
SCHOOL_NAME = "№ 5 мектеп-гимназиясы / Школа-гимназия № 5"
SCHOOL_BIN = "050540001234"
SUPPLIER_NAME = "«Дәмді ас» ЖШС / ТОО «Дамды ас»"
SUPPLIER_BIN = "180940012345"
SUPPLIER_IBAN, SUPPLIER_BIK = "KZ86125KZT5004100100", "KCJBKZKX"  # where the treasury pays it
MONTH = "2026-09"
CANTEEN_DAY = date(2026, 9, 15)  # a Tuesday
PASSWORD = "demo-password-2026"  # noqa: S105 — demo accounts on a throw-away database

STAFF = (
    ("district.admin", Role.DISTRICT_ADMIN),
    ("school.head", Role.SCHOOL_HEAD),
    ("social.pedagogue", Role.SOCIAL_PEDAGOGUE),
    ("technician", Role.TECHNICIAN),
    ("supplier", Role.SUPPLIER),
)

# slot, start, end (local time)
SLOTS = ((1, time(8, 30), time(10, 0)), (2, time(12, 30), time(14, 0)))
# plan, slot, amount, state share (tiyn): breakfast 450 ₸, lunch 800.50 ₸; discounted: the state pays 60 %
TARIFFS = (
    (1, 1, 45_000, 45_000),
    (1, 2, 80_050, 80_050),
    (2, 1, 45_000, 27_000),
    (2, 2, 80_050, 48_030),
)
TARIFFS_FROM = date(2026, 9, 1)


@dataclass(frozen=True, slots=True)
class Child:
    key: str
    full_name: str
    grade: int
    class_name: str


@dataclass(frozen=True, slots=True)
class Family:
    key: str
    parent_name: str
    phone: str | None
    role: str  # mother | father | guardian | trustee
    children: tuple[Child, ...]
    reply: str | None  # the SMS reply the parent sends, if asked


FAMILIES = (
    Family(
        "bekova",
        "Сәуле Бекова",
        "+77011110001",
        "mother",
        (Child("aruzhan", "Аружан Сәкенқызы Бекова", 2, "2А"),),
        None,  # grades 1–4: a voucher without an SMS request
    ),
    Family(
        "akhmetova",
        "Гүлнар Ахметова",
        "+77011110002",
        "mother",
        (
            Child("nurlan", "Нұрлан Ахметов", 6, "6А"),
            Child("dana", "Дана Ахметова", 6, "6Б"),
            Child("erlan", "Ерлан Ахметов", 6, "6В"),
        ),
        "3#1",  # one SMS for all three children, one reply
    ),
    Family(
        "petrov",
        "Сергей Петров",
        "+77011110003",
        "father",
        (Child("ivan", "Иван Петров", 7, "7А"),),
        "3#2",  # declines
    ),
    Family(
        "nurova",
        "Роза Нұрова",
        None,  # no number in the mobile citizens base
        "mother",
        (Child("aigerim", "Айгерім Нұрова", 8, "8А"),),
        None,
    ),
)

# The district puts one child on the discounted plan (the state pays its share, the family the rest).
DISCOUNTED = "erlan"

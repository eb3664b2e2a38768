"""Which roles see pupils' and parents' personal data (docs/security.md has the role × field table).

Suppliers cook and bill, technicians install terminals: neither needs a pupil's full name, social
category or a parent's phone number. They see the initials-and-class display the terminal shows.
"""

from __future__ import annotations

import re

from .model import Principal, Role

PERSONAL_DATA_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.SCHOOL_HEAD, Role.SOCIAL_PEDAGOGUE})
_PHONE = re.compile(r"\+7\d{10}")


def sees_personal_data(principal: Principal) -> bool:
    return principal.kind == "admin" and principal.role in PERSONAL_DATA_ROLES


def mask_phones(text: str) -> str:
    """`parent-sms:+77012345678` → `parent-sms:+7•••••••••78`."""
    return _PHONE.sub(lambda m: "+7" + "•" * 8 + m.group(0)[-2:], text)


def mask_iin(iin: str) -> str:
    """`070512345678` → `••••••••5678`: enough for staff to tell two pupils of one name apart, too
    little to stand for the person's national identifier on a screen or a screenshot."""
    return "•" * 8 + iin[-4:]

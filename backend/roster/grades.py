"""The school's grades, the line the order draws between them, and the plans a pupil may get (reference
vocabulary, no I/O)."""

import enum

MIN_GRADE, MAX_GRADE = 1, 11
LAST_UNCONDITIONAL_GRADE = 4  # grades 1–4: eligible without a category


class Plan(enum.IntEnum):
    """What the state pays: FREE all of the tariff, DISCOUNTED its share (tariffs hold both parts)."""

    FREE = 1
    DISCOUNTED = 2

"""The garbage collector's pace in a serving process.

CPython's default starts a young-generation pass every 700 new container objects. An upload decodes
500 events into maps, events and rows that all live until its transaction ends, so the default ran a
pass a few times per event map and moved the whole batch up through the older generations, walking
it again each time: a quarter of an API process's CPU under the lunch upload load (docs/scale.md).
With a young generation of YOUNG objects a batch is mostly freed by reference counting before a pass
sees it; cycles (rare in request handling) wait a little longer.
"""

from __future__ import annotations

import gc

YOUNG = 50_000
OLDER = (20, 20)  # passes of the generation below before each older one (CPython's default: 10, 10)


def pace_for_serving() -> None:
    gc.set_threshold(YOUNG, *OLDER)

"""Whatever the camera or the reader hands over, the engine answers with a verdict, never an exception.

One terminal serves every example of a test (hypothesis reuses the function-scoped fixture).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from device.interfaces import CardRead, Decision

from .conftest import Rig

SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(text=st.one_of(st.text(max_size=600), st.text(max_size=300).map(lambda t: "SW1:" + t)))
def test_any_qr_text_gets_a_refusal(rig: Rig, text: str) -> None:
    v = rig.terminal.present_qr(text)
    assert v.decision is Decision.REFUSE and v.reason is not None


@SETTINGS
@given(uid=st.binary(max_size=12), ndef=st.one_of(st.none(), st.binary(max_size=400)))
def test_any_card_read_gets_a_verdict(rig: Rig, uid: bytes, ndef: bytes | None) -> None:
    v = rig.terminal.present_card(CardRead(uid, ndef))
    assert v.decision is Decision.REFUSE and v.reason is not None

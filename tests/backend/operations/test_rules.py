"""Pure rules: a voucher's status at a past instant, boot anchors, which guardian is told, notice texts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from backend.ingest.model import StatusChange, VoucherFacts, boot_anchors
from backend.notify.model import meal_text, pick_guardian
from shared_crypto import MealEvent, Method

T0 = datetime(2026, 9, 1, tzinfo=UTC)


def test_status_at_rebuilds_the_audit_trail() -> None:
    v = VoucherFacts(
        1, 1, 1, 1, "revoked", date(2027, 5, 31),
        (StatusChange(T0, "awaiting_activation", "active"), StatusChange(T0 + timedelta(days=5), "active", "revoked")),
    )  # fmt: skip
    assert v.status_at(T0 - timedelta(seconds=1)) == "awaiting_activation"
    assert v.status_at(T0) == "active"
    assert v.status_at(T0 + timedelta(days=4)) == "active"
    assert v.status_at(T0 + timedelta(days=5)) == "revoked"
    assert VoucherFacts(2, 1, 1, 1, "active", None).status_at(T0) == "active"  # no trail: the current status


def _ev(boot: bytes, wall: int, mono: int, trusted: bool) -> MealEvent:
    return MealEvent(bytes(16), 1, boot, mono, wall, trusted, True, "SERVED", Method.QR, 1, 1, 1, 20260901)


def test_boot_anchor_uses_trusted_events_only() -> None:
    a, b = b"a" * 16, b"b" * 16
    anchors = boot_anchors(
        [
            _ev(a, 10_000, 1_000, True),
            _ev(a, 20_000, 11_000, True),
            _ev(a, 99_999, 1, False),
            _ev(b, 5, 1, False),
        ]
    )
    assert anchors == {a: 9_000}


def test_guardian_with_a_phone_first_then_by_role() -> None:
    assert pick_guardian([]) is None
    assert pick_guardian([(7, "father", True), (3, "mother", True)]) == 3
    assert pick_guardian([(3, "mother", False), (7, "father", True)]) == 7
    assert pick_guardian([(9, "trustee", True), (8, "guardian", True)]) == 8


def test_notice_text_in_the_parents_language() -> None:
    at = datetime(2026, 9, 14, 7, 5, tzinfo=UTC)  # 12:05 in Almaty
    assert meal_text("kk", "А.Б. 5А", at) == "А.Б. 5А: 14.09.2026 сағат 12:05 мектепте ыстық тамақ алды."
    assert meal_text("ru", "А.Б. 5А", at).startswith("А.Б. 5А: 14.09.2026 в 12:05")
    both = meal_text("kk+ru", "А.Б. 5А", at)
    assert "сағат" in both and "получил(а)" in both

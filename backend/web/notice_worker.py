"""The worker's job for parent notices: what becomes a notice (read through the owning features'
published read functions), the notices' words in the parents' languages, the app's push sender (Web
Push with the back end's VAPID key, unless the context carries another) and one delivery pass."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from backend.clock import KZ_TZ
from backend.consent import queries as consent
from backend.ingest.queries import served_meals
from backend.notify import delivery
from backend.notify.delivery import DeliveryReport, Notice
from backend.notify.outbox import take_queued
from backend.notify.webpush import PushSender, WebPushSender, vapid_key
from backend.vouchers.model import VoucherStatus
from backend.vouchers.queries import status_changes_after

from . import i18n, texts

if TYPE_CHECKING:
    from backend.context import AppContext

STATUS_KINDS = {
    VoucherStatus.SUSPENDED: "voucher_suspended",
    VoucherStatus.REVOKED: "voucher_revoked",
    VoucherStatus.EXPIRED: "voucher_expired",
}
EXPIRED_LOOKBACK = timedelta(days=7)


def collect(session: Session, now: datetime) -> int:
    """Step 1, in the caller's transaction: the meal outbox (its batches of meals taken and expanded
    into a notice per meal to the pupil's guardian), status changes in the vouchers' audit
    trail (suspended, revoked, expired) and consent outcomes (each decision, and requests closed
    unanswered) become notices. Returns how many were added."""
    queued = take_queued(session, limit=delivery.BATCH)
    meals = served_meals(session, [(q.school_id, q.event_ids) for q in queued])
    added = delivery.add_meal_notices(session, ((m.event_id, m.pupil_id, m.served_at) for m in meals), now)

    changes = status_changes_after(
        session, delivery.cursor_at(session, "voucher_events"), limit=delivery.BATCH
    )
    noticed = [c for c in changes if c.new_status in STATUS_KINDS]
    guardians = delivery.guardians(session, [c.pupil_id for c in noticed])
    added += delivery.add_notices(
        session,
        (
            Notice(
                parent_id,
                STATUS_KINDS[VoucherStatus(c.new_status)],
                f"voucher-event:{c.event_id}",
                c.pupil_id,
                c.display,
                c.at,
            )
            for c in noticed
            for parent_id in guardians.get(c.pupil_id, [])
        ),
        now,
    )
    if changes:
        delivery.move_cursor(session, "voucher_events", changes[-1].event_id)

    decisions = consent.decisions_after(
        session, delivery.cursor_at(session, "consent_decisions"), limit=delivery.BATCH
    )
    outcomes = decisions + consent.expired_since(session, now - EXPIRED_LOOKBACK)
    kids = consent.children_of_requests(session, [o.request_id for o in outcomes])
    added += delivery.add_notices(
        session,
        (
            Notice(
                o.parent_id,
                f"consent_{o.outcome}",
                f"consent:{o.request_id}:{o.attempt}",
                None,
                kids.get(o.request_id, "")[:40],
                o.at,
            )
            for o in outcomes
        ),
        now,
    )
    if decisions and decisions[-1].decision_id is not None:
        delivery.move_cursor(session, "consent_decisions", decisions[-1].decision_id)
    return added


class Words:
    """The notices' words from the web catalogs (delivery.NoticeWords)."""

    def push(self, notice: Notice, language: str) -> bytes:
        """What the browser shows: title and text in the language the parent subscribed in."""
        tr = i18n.translations(language if language in i18n.LANGUAGES else i18n.DEFAULT)
        title = tr.gettext(texts.NOTICE_KINDS.get(notice.kind, texts.GENERIC_ERROR))
        when = notice.at.astimezone(KZ_TZ).strftime("%d.%m %H:%M")
        body = f"{notice.display} · {when}" if notice.display else when
        return json.dumps(
            {"title": title, "body": body, "url": "/notifications", "tag": notice.source}, ensure_ascii=False
        ).encode()

    def digest(self, language: str, counts: dict[str, Counter[str]]) -> str:
        """The day's notices per child, in the SMS language of the parent's record (kk, ru or both)."""
        parts = []
        for lang in ("kk", "ru") if language not in ("kk", "ru") else (language,):
            tr = i18n.translations(lang)
            lines = [tr.gettext("School meals today:")]
            for child, kinds in sorted(counts.items()):
                meals = kinds.pop("meal_served", 0)
                if meals:
                    lines.append(
                        tr.ngettext("%(child)s ate %(num)d time.", "%(child)s ate %(num)d times.", meals)
                        % {"child": child, "num": meals}
                    )
                for kind in sorted(kinds):
                    lines.append(f"{child}: {tr.gettext(texts.NOTICE_KINDS[kind])}.")
                kinds["meal_served"] = meals
            parts.append("\n".join(lines))
        return "\n\n".join(parts)


def deliver(
    session_factory: sessionmaker[Session], sender: PushSender | None, *, now: datetime, max_attempts: int
) -> DeliveryReport:
    """One delivery pass over every channel (no push when `sender` is None)."""
    return delivery.deliver(session_factory, collect, Words(), sender, now=now, max_attempts=max_attempts)


def push_sender(ctx: AppContext) -> PushSender:
    sender = getattr(ctx, "push", None)
    if sender is None:
        sender = WebPushSender(vapid_key(ctx.settings.key_dir), ctx.settings.web.vapid_subject)
        ctx.push = sender  # type: ignore[attr-defined]
    return sender


def deliver_notices(ctx: AppContext) -> dict[str, int]:
    report = deliver(
        ctx.session_factory,
        push_sender(ctx),
        now=ctx.clock.now(),
        max_attempts=ctx.settings.web.push_max_attempts,
    )
    return {
        "notices": report.collected,
        "pushed": report.pushed,
        "push_retries": report.retried,
        "digests": report.digests,
    }

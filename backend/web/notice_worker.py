"""The worker's hook for parent notices: the app's push sender (Web Push with the back end's VAPID
key, unless the context carries another) and one delivery pass."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.notify.webpush import PushSender, WebPushSender, vapid_key

from .notice_delivery import deliver

if TYPE_CHECKING:
    from backend.context import AppContext


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

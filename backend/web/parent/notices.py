"""Notifications: the in-app list, browser push (subscribe from the page) and the daily SMS digest."""

from __future__ import annotations

import json

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from backend.clock import KZ_TZ
from backend.errors import DomainError
from backend.notify import subscriptions
from backend.notify.model import NotifyReason
from backend.notify.webpush import application_server_key, vapid_key

from ..forms import FormDep, PageDep
from ..pages import WebRoute, environment, finish, redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/notifications")
def notifications(pc: PageDep) -> Response:
    session = pc.uow.session
    rows = subscriptions.notices_for(session, pc.parent)
    digest = subscriptions.sms_digest(session, pc.parent)
    browsers = subscriptions.subscription_count(session, pc.parent)
    return render(
        pc,
        "parent/notifications.html",
        notices=rows,
        digest=digest,
        browsers=browsers,
        tz=KZ_TZ,
        vapid=application_server_key(vapid_key(pc.ctx.settings.key_dir)),
    )


@router.post("/notifications/sms-digest")
def digest(pc: PageDep, form: FormDep) -> Response:
    subscriptions.set_sms_digest(pc.uow, pc.parent, form.get("digest") == "on")
    return redirect(pc, "/notifications?done=saved")


@router.post("/notifications/push")
def subscribe(pc: PageDep, form: FormDep) -> Response:
    """Called by the page's script with the browser's PushSubscription (JSON in the `subscription` field)."""
    try:
        sub = json.loads(form.get("subscription", ""))
        endpoint, keys = str(sub["endpoint"]), sub["keys"]
        p256dh, auth = str(keys["p256dh"]), str(keys["auth"])
    except (ValueError, KeyError, TypeError):
        raise DomainError(NotifyReason.BAD_SUBSCRIPTION, "not a PushSubscription") from None
    subscriptions.subscribe(
        pc.uow,
        pc.parent,
        endpoint=endpoint,
        p256dh=p256dh,
        auth=auth,
        language=pc.lang,
        now=pc.ctx.clock.now(),
    )
    return finish(pc, JSONResponse({"subscribed": True}, status_code=201))


@router.get("/notifications/sw.js")
def push_worker(pc: PageDep) -> Response:
    js = environment("en").get_template("parent/push-sw.js").render()
    response = Response(js, media_type="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return finish(pc, response, private=False)

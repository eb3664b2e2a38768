"""The pupil's pass on the child's phone: install from the one-time link, the offline page, its data.

The pass's secret lives in an HttpOnly cookie scoped to /pass; the page keeps the last tokens it got
(with the server's clock offset) so it shows the right QR offline, and a service worker keeps the page
and its scripts.
"""

from __future__ import annotations

import gzip
import json

from fastapi import APIRouter, Request, Response

from backend.deps import CtxDep, UowDep
from backend.errors import DomainError
from backend.http_errors import status_of
from backend.passes import services as passes

from . import security
from .assets import asset_url
from .forms import FormDep, PageDep
from .pages import GZIP_FROM, WebRoute, environment, finish, redirect, render
from .texts import PageCode

router = APIRouter(route_class=WebRoute, include_in_schema=False)
DEVICE_COOKIE = "sm_device"  # holds the installed pass's secret
DEVICE_COOKIE_AGE = 400 * 86400  # browsers cap cookie lifetimes at 400 days
SHELL_ASSETS = ("app.css", "pass.js", "vendor/qrcode.js")


@router.get("/pass/i/{link}")
def install_page(link: str, pc: PageDep) -> Response:
    session = pc.uow.session
    child = passes.link_child(session, link, pc.ctx.clock.now())
    return render(pc, "pass/install.html", child=child, link=link)


@router.post("/pass/i/{link}")
def install(link: str, pc: PageDep, form: FormDep) -> Response:
    """A POST, so a messenger's link preview (a GET) cannot spend the one-time link."""
    label = _label(pc.request.headers.get("user-agent", ""))
    device = passes.install(pc.uow, link, label=label, now=pc.ctx.clock.now())
    response = redirect(pc, "/pass/")
    security.set_cookie(
        response,
        pc.ctx.settings.web,
        DEVICE_COOKIE,
        device,
        max_age=DEVICE_COOKIE_AGE,
        path="/pass",
        samesite="strict",
    )
    return response


@router.get("/pass/")
def shell(pc: PageDep) -> Response:
    response = render(pc, "pass/pass.html", assets=SHELL_ASSETS)
    response.headers["Cache-Control"] = "no-cache"  # the service worker keeps a copy for offline use
    return response


@router.get("/pass/data.json")
def data(request: Request, ctx: CtxDep, uow: UowDep) -> Response:
    device = request.cookies.get(DEVICE_COOKIE)
    if not device:
        return _json(request, {"reason": PageCode.NO_PASS}, 404)
    try:
        pd = passes.refresh(
            uow,
            ctx.keys,
            device,
            settings=ctx.settings.web,
            now=ctx.clock.now(),
            calendars=request.app.state.pass_calendars,
        )
    except DomainError as exc:
        return _json(request, {"reason": exc.reason}, status_of(exc))
    return _json(request, pass_body(pd), 200)


def pass_body(pd: passes.PassData) -> dict[str, object]:
    """Built field by field: dataclasses.asdict deep-copies every token, a tenth of a refresh."""
    return {
        "server_time": pd.server_time,
        "display": pd.display,
        "serial": pd.serial,
        "window_seconds": pd.window_seconds,
        "tokens": [{"slot": t.slot, "nbf": t.nbf, "exp": t.exp, "qr": t.qr} for t in pd.tokens],
        "slots": [{"slot": s.slot, "start": s.start, "end": s.end} for s in pd.slots],
    }


@router.get("/pass/sw.js")
def service_worker(pc: PageDep) -> Response:
    shell_urls = ["/pass/", "/pass/manifest.webmanifest", *(asset_url(a) for a in SHELL_ASSETS)]
    version = "-".join(asset_url(a).rsplit("=", 1)[1] for a in SHELL_ASSETS)
    js = environment("en").get_template("pass/sw.js").render(shell=json.dumps(shell_urls), version=version)
    response = Response(js, media_type="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return finish(pc, response, private=False)


@router.get("/pass/manifest.webmanifest")
def manifest(pc: PageDep) -> Response:
    body = {
        "name": pc.gettext("School meals pass"),
        "short_name": pc.gettext("Meal pass"),
        "start_url": "/pass/",
        "scope": "/pass/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b0c0c",
    }
    return finish(
        pc,
        Response(json.dumps(body, ensure_ascii=False), media_type="application/manifest+json"),
        private=False,
    )


def _json(request: Request, body: dict[str, object], status: int) -> Response:
    raw, headers = json_answer(body, request.headers.get("accept-encoding", ""))
    return Response(raw, status_code=status, media_type="application/json", headers=headers)


def json_answer(body: dict[str, object], accept_encoding: str) -> tuple[bytes, dict[str, str]]:
    """No-store JSON; gzip where the phone takes it (a week of tokens halves, which 3G feels)."""
    raw = json.dumps(body, separators=(",", ":")).encode()
    headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding"}
    if len(raw) >= GZIP_FROM and "gzip" in accept_encoding:
        raw = gzip.compress(raw, 6, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return raw, headers


def _label(user_agent: str) -> str:
    """A short, recognisable name of the phone's browser for the parent's list of passes."""
    ua = user_agent
    system = next((s for s in ("Android", "iPhone", "iPad", "Windows", "Mac OS", "Linux") if s in ua), "")
    browser = next((b for b in ("Edg", "OPR", "YaBrowser", "Firefox", "Chrome", "Safari") if b in ua), "")
    names = {"Edg": "Edge", "OPR": "Opera", "YaBrowser": "Yandex"}
    return " · ".join(x for x in (names.get(browser, browser), system) if x)

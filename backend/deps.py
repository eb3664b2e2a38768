"""FastAPI dependencies shared by every router: the process context and the request's unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request

from .context import AppContext
from .sms.outbox import dispatch_pending
from .sms.sealing import seal_key
from .unit_of_work import UnitOfWork


def get_ctx(request: Request) -> AppContext:
    ctx = request.app.state.ctx
    assert isinstance(ctx, AppContext)
    return ctx


def get_uow(ctx: Annotated[AppContext, Depends(get_ctx)]) -> Iterator[UnitOfWork]:
    """The request's one unit of work, open for the route: the service it calls commits it, and
    whatever was not committed is rolled back when the request ends."""
    with UnitOfWork(ctx.session_factory) as uow:
        yield uow


CtxDep = Annotated[AppContext, Depends(get_ctx)]
UowDep = Annotated[UnitOfWork, Depends(get_uow)]


def dispatch_sms_after_response(background: BackgroundTasks, ctx: AppContext) -> None:
    """Send the queued SMS after the response: a slow SMS provider must not hold the request."""
    background.add_task(
        dispatch_pending,
        ctx.session_factory,
        ctx.sms,
        ctx.clock,
        seal_key=seal_key(ctx.settings.pseudonym_secret),
    )

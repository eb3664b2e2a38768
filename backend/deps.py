"""FastAPI dependencies shared by every router."""

from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request

from .context import AppContext
from .services.unit_of_work import UnitOfWork
from .sms.outbox import dispatch_pending


def get_ctx(request: Request) -> AppContext:
    ctx = request.app.state.ctx
    assert isinstance(ctx, AppContext)
    return ctx


async def ctx_dependency(request: Request) -> AppContext:
    """`get_ctx` as a dependency. Async because it does no I/O: FastAPI runs a sync dependency in the
    thread pool, one hop per request and dependency."""
    return get_ctx(request)


async def get_uow(ctx: Annotated[AppContext, Depends(ctx_dependency)]) -> UnitOfWork:
    """A fresh, not yet entered unit of work: the route opens it with `with uow:`."""
    return UnitOfWork(ctx.session_factory)


CtxDep = Annotated[AppContext, Depends(ctx_dependency)]
UowDep = Annotated[UnitOfWork, Depends(get_uow)]


def dispatch_sms_after_response(background: BackgroundTasks, ctx: AppContext) -> None:
    """Send the queued SMS after the response: a slow SMS provider must not hold the request."""
    background.add_task(dispatch_pending, ctx.session_factory, ctx.sms, ctx.clock)

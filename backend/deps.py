"""FastAPI dependencies shared by every router: the process context and the request's unit of work.

The context and the unit of work are async dependencies because creating them does no I/O: FastAPI runs
a sync dependency in the thread pool, one hop per request and dependency."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from .context import AppContext
from .sms.outbox import dispatch_pending
from .sms.sealing import seal_key
from .unit_of_work import UnitOfWork


def get_ctx(request: Request) -> AppContext:
    ctx = request.app.state.ctx
    assert isinstance(ctx, AppContext)
    return ctx


async def ctx_dependency(request: Request) -> AppContext:
    """`get_ctx` as a dependency, on the event loop."""
    return get_ctx(request)


CtxDep = Annotated[AppContext, Depends(ctx_dependency)]


async def get_uow(ctx: CtxDep) -> AsyncIterator[UnitOfWork]:
    """The request's one unit of work, open for the route: the service it calls commits it, and
    whatever was not committed is rolled back when the request ends. Opening a session touches no
    connection; ending it does only while a transaction is open, and then off the event loop."""
    uow = UnitOfWork(ctx.session_factory).__enter__()
    try:
        yield uow
    finally:
        if uow.session.in_transaction():
            await run_in_threadpool(uow.__exit__, None, None, None)
        else:
            uow.__exit__(None, None, None)


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


def get_reader(ctx: CtxDep) -> Iterator[Session]:
    """A read-only session that may be on the streaming replica within its bounded lag (reports,
    parents' histories); the primary when there is none or it lags."""
    with ctx.reader() as session:
        yield session


ReaderDep = Annotated[Session, Depends(get_reader)]


def dispatch_sms_after_response(background: BackgroundTasks, ctx: AppContext) -> None:
    """Send the queued SMS after the response: a slow SMS provider must not hold the request."""
    background.add_task(
        dispatch_pending,
        ctx.session_factory,
        ctx.sms,
        ctx.clock,
        seal_key=seal_key(ctx.settings.pseudonym_secret),
    )

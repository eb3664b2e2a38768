"""Form handling shared by the pages: the CSRF check on every state-changing request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from . import security
from .pages import PageContext, page_context

PageDep = Annotated[PageContext, Depends(page_context)]


async def checked_form(request: Request, pc: PageDep) -> dict[str, str]:
    """The posted fields, after the CSRF check (token in the form, or in a header for scripts)."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    token = fields.get(security.CSRF_FIELD) or request.headers.get(security.CSRF_HEADER)
    security.check_csrf(request, pc.ctx.settings.web, token)
    return fields


FormDep = Annotated[dict[str, str], Depends(checked_form)]

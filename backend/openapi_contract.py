"""Documents on every route the error statuses the edge itself can answer, so the OpenAPI description
lists every status a client may see. Routes add the ones their use cases raise (`responses=errors(…)`).

- 422: any route that reads a parameter or a body (and the JSON nesting cap);
- 413: any route with a body (backend.body_limits);
- 401 and 403: routes behind an admin, parent or terminal credential;
- 404: routes that name an object in the path (foreign and missing alike).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from .http_errors import errors

AUTH_QUALNAMES = ("require_admin.", "require_parent", "require_terminal")


def _needs_auth(dependant: Dependant) -> bool:
    for dep in dependant.dependencies:
        name = getattr(dep.call, "__qualname__", "")
        if any(name.startswith(q) for q in AUTH_QUALNAMES) or _needs_auth(dep):
            return True
    return False


def _all_params(dependant: Dependant) -> tuple[bool, bool, bool]:
    """(has path params, has any param, has a body) over the dependency tree."""
    path, any_param, body = bool(dependant.path_params), False, bool(dependant.body_params)
    any_param = bool(dependant.path_params or dependant.query_params or dependant.header_params)
    for dep in dependant.dependencies:
        p, a, b = _all_params(dep)
        path, any_param, body = path or p, any_param or a, body or b
    return path, any_param, body


def document_edge_statuses(app: FastAPI) -> None:
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        path, any_param, body = _all_params(route.dependant)
        statuses: set[int] = set()
        if any_param or body:
            statuses.add(422)
        if body or route.path.startswith("/api/terminal/v1/"):
            statuses.add(413)
        if _needs_auth(route.dependant):
            statuses.update((401, 403))
        if path:
            statuses.add(404)
        for status, spec in errors(*sorted(statuses)).items():
            route.responses.setdefault(status, spec)

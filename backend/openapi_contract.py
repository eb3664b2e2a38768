"""Documents on every operation the error statuses the edge itself can answer, in the one error shape,
so the OpenAPI description lists every status a client may see. Routes add the statuses their use
cases raise (`responses=errors(…)`).

- 422: any route that reads a parameter or a body (FastAPI's own validation-error schema is replaced:
  the app answers validation errors as {"reason", "detail"} too);
- 413: any route with a body, and the terminal routes (backend.body_limits);
- 401 and 403: routes behind an admin, parent or terminal credential;
- 404: routes that name an object in the path (foreign and missing alike).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from .error_shape import STATUS_TEXT, ErrorOut

AUTH_QUALNAMES = ("require_admin.", "require_parent", "require_terminal")
ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def _needs_auth(dependant: Dependant) -> bool:
    for dep in dependant.dependencies:
        name = getattr(dep.call, "__qualname__", "")
        if any(name.startswith(q) for q in AUTH_QUALNAMES) or _needs_auth(dep):
            return True
    return False


def _params(dependant: Dependant) -> tuple[bool, bool, bool]:
    """(has path params, has any param, has a body) over the dependency tree."""
    path, body = bool(dependant.path_params), bool(dependant.body_params)
    any_param = bool(dependant.path_params or dependant.query_params or dependant.header_params)
    for dep in dependant.dependencies:
        p, a, b = _params(dep)
        path, any_param, body = path or p, any_param or a, body or b
    return path, any_param, body


def edge_statuses(route: APIRoute, full_path: str) -> set[int]:
    path, any_param, body = _params(route.dependant)
    statuses: set[int] = set()
    if any_param or body:
        statuses.add(422)
    if body:
        statuses.add(400)  # a body that does not parse (BODY_UNREADABLE)
    if body or full_path.startswith("/api/terminal/v1/"):
        statuses.add(413)
    if _needs_auth(route.dependant):
        statuses.update((401, 403))
    if path:
        statuses.add(404)
    return statuses


def _error_response(status: int) -> dict[str, Any]:
    return {"description": STATUS_TEXT[status], "content": {"application/json": {"schema": ERROR_REF}}}


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        extra: dict[tuple[str, str], set[int]] = {}
        for rc in iter_route_contexts(app.routes):
            route = rc.original_route
            if isinstance(route, APIRoute) and rc.path is not None:
                for method in rc.methods or ():
                    extra[(rc.path, method.lower())] = edge_statuses(route, rc.path)
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status in sorted(extra.get((path, method), ())):
                    responses.setdefault(str(status), _error_response(status))
                if "HTTPValidationError" in str(responses.get("422", "")):
                    responses["422"] = _error_response(422)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["ErrorOut"] = ErrorOut.model_json_schema()
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

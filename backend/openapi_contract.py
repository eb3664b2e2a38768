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

# The credential dependencies, by qualname prefix, and the OpenAPI security scheme each stands for.
AUTH_QUALNAMES = {"require_admin.": "session", "require_parent": "session", "require_terminal": "device"}
SECURITY_SCHEMES = {
    "session": {
        "type": "http",
        "scheme": "bearer",
        "description": "An admin's or a parent's session token from /api/auth/v1/…/login",
    },
    "device": {
        "type": "apiKey",
        "in": "header",
        "name": "X-SW-Device-Auth",
        "description": "The terminal's signed request token (docs/terminal-api.md)",
    },
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def _schemes(dependant: Dependant) -> set[str]:
    """The security schemes the route's dependency tree demands."""
    found: set[str] = set()
    for dep in dependant.dependencies:
        name = getattr(dep.call, "__qualname__", "")
        found.update(scheme for prefix, scheme in AUTH_QUALNAMES.items() if name.startswith(prefix))
        found |= _schemes(dep)
    return found


def _needs_auth(dependant: Dependant) -> bool:
    return bool(_schemes(dependant))


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
        security: dict[tuple[str, str], set[str]] = {}
        for rc in iter_route_contexts(app.routes):
            route = rc.original_route
            if isinstance(route, APIRoute) and rc.path is not None:
                for method in rc.methods or ():
                    extra[(rc.path, method.lower())] = edge_statuses(route, rc.path)
                    security[(rc.path, method.lower())] = _schemes(route.dependant)
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                if schemes := security.get((path, method)):
                    operation["security"] = [{scheme: []} for scheme in sorted(schemes)]
                for status in sorted(extra.get((path, method), ())):
                    responses.setdefault(str(status), _error_response(status))
                if "HTTPValidationError" in str(responses.get("422", "")):
                    responses["422"] = _error_response(422)
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["ErrorOut"] = ErrorOut.model_json_schema()
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

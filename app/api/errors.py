"""Error responses: one JSON shape, declared in the OpenAPI schema, mapped from core errors."""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from typing import Literal

from fastapi import FastAPI, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from app.api.finite import NonFiniteAnswer
from app.api.heavy import get_gate
from app.api.limits import BODILESS
from app.api.schemas import ErrorResponse
from app.api.security import MUTATIONS
from app.data.mnist import MNISTUnavailable
from app.jsontypes import JSONObject
from app.runs.executor import ExecutorUnavailable
from app.runs.manager import RunNotFound, RunStateError, TooManyRuns
from app.store.disk import StorageFull, is_disk_full, storage_full
from app.store.models import (
    ModelNotFound,
    NonFiniteModel,
    ShippedModelError,
    UploadLimitReached,
)

log = logging.getLogger(__name__)

_DESCRIPTIONS = {
    400: "The Host header is not an allowed name (see NNP_ALLOWED_HOSTS)",
    403: "A mutation or WebSocket from another origin (see NNP_ALLOWED_ORIGINS)",
    404: "Not found",
    408: "The request body did not arrive in time (NNP_BODY_TIMEOUT_SECONDS)",
    409: "Not possible in the current state",
    413: "Request body too large",
    415: "The body is not of a content type this operation takes",
    422: "Invalid input",
    429: "Too many training runs (every slot is busy and the queue is full)",
    507: "The disk is full: the change could not be stored (nothing was changed)",
}


# Why an operation may answer 503. A route names the causes its handler meets (responses'
# `unavailable`); "busy" (a route that sends work through the heavy-request pool) and "bodies"
# (any method with a body) are added to each operation they apply to by add_common_errors.
Unavailable = Literal["mnist", "executor", "busy", "bodies"]
_UNAVAILABLE: dict[Unavailable, str] = {
    "mnist": "MNIST is not available (not found and could not be downloaded)",
    "executor": "the training backend can't take the run now (e.g. the Ray cluster is unreachable)",
    "busy": "every heavy-request slot is busy and none freed up in time, or the queue is full "
    "(Retry-After: seconds to wait)",
    "bodies": "too many request bodies are being received at once (Retry-After: seconds to wait)",
}
_UNAVAILABLE_LEAD = "Unavailable: "


def _unavailable(causes: Iterable[Unavailable]) -> str:
    return _UNAVAILABLE_LEAD + "; or ".join(_UNAVAILABLE[cause] for cause in causes)


def responses(*codes: int, unavailable: Iterable[Unavailable] = ()) -> dict[int | str, JSONObject]:
    """OpenAPI `responses=` entries for these error codes, all with the ErrorResponse shape;
    503 (when `unavailable` names its causes) says why. A bare 503 among `codes` keeps its
    historic meaning, MNIST (prefer naming the causes)."""
    causes = list(unavailable)
    if 503 in codes and not causes:
        causes = ["mnist"]
    answers: dict[int | str, JSONObject] = {
        code: {"model": ErrorResponse, "description": _DESCRIPTIONS[code]}
        for code in codes
        if code != 503
    }
    if causes:
        answers[503] = {"model": ErrorResponse, "description": _unavailable(causes)}
    return answers


def _common_codes(method: str, operation: JSONObject) -> list[int]:
    """The errors any operation of this kind can answer, whatever its handler does: the
    security middleware's 400 (Host) and 403 (Origin, mutations only), the body limit's 408
    (methods with a body), 413, a wrong content type's 415, 422 for bad parameters or bodies,
    and 507 for a mutation the disk can't take. (The body limit's 503: _unavailable_causes.)"""
    codes = [400]
    if method.upper() in MUTATIONS:
        codes += [403, 507]
    if method.upper() not in BODILESS:
        codes.append(408)
    if "requestBody" in operation:
        codes += [413, 415]
    if "requestBody" in operation or operation.get("parameters"):
        codes.append(422)
    return codes


def _uses_gate(dependant: Dependant) -> bool:
    return any(d.call is get_gate or _uses_gate(d) for d in dependant.dependencies)


def api_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """(path, route) of every API route of `app`, however deep its router was included."""
    found = []
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path_format
        if isinstance(route, APIRoute) and path is not None:
            found.append((path, route))
    return found


def _unavailable_causes(
    routes: list[tuple[str, APIRoute]],
) -> Iterator[tuple[str, str, list[Unavailable]]]:
    """(path, method, causes) of every operation that may answer 503: the causes its route
    declares (responses' `unavailable`), "busy" when it uses the heavy-request pool, "bodies"
    for a method with a body (the body limit's wait for a reader)."""
    for path, route in routes:
        declared = str(route.responses.get(503, {}).get("description", ""))
        for method in sorted(route.methods or ()):
            causes = [cause for cause, text in _UNAVAILABLE.items() if text in declared]
            if _uses_gate(route.dependant) and "busy" not in causes:
                causes.append("busy")
            if method not in BODILESS and "bodies" not in causes:
                causes.append("bodies")
            if causes:
                yield path, method.lower(), causes


def add_common_errors(schema: JSONObject, routes: list[tuple[str, APIRoute]] | None = None) -> None:
    """Declare every operation's common error answers (see _common_codes) with ErrorResponse,
    and each of `routes`' 503 with all its causes (see _unavailable_causes)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ErrorResponse", ErrorResponse.model_json_schema())
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            answers = operation.setdefault("responses", {})
            for code in _common_codes(method, operation):
                answers.setdefault(
                    str(code),
                    {
                        "description": _DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": ref}},
                    },
                )
    for path, method, causes in _unavailable_causes(routes or []):
        operation = schema.get("paths", {}).get(path, {}).get(method)
        if operation is not None:  # else not in the schema (include_in_schema=False)
            operation["responses"]["503"] = {
                "description": _unavailable(causes),
                "content": {"application/json": {"schema": ref}},
            }


def document(app: FastAPI) -> None:
    """Make app.openapi() include the common error answers."""
    base = app.openapi

    def openapi() -> JSONObject:
        if app.openapi_schema is None:
            add_common_errors(base(), api_routes(app))
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _message(exc: BaseException) -> str:
    # KeyError's str() adds quotes around the message; use the argument itself.
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def path_methods(request: Request, known: str = "") -> list[str]:
    """Every method some route serves at this request's path (Starlette's 405 names only the
    first matching route's, `known`, but FastAPI has one route per method).

    A concrete path of the schema (`/api/models/default`) takes precedence over a templated one
    that also matches it (`/api/models/{model_id}`), as in OpenAPI."""
    methods = {"OPTIONS", *(m.strip() for m in known.split(",") if m.strip())}
    concrete = request.app.openapi().get("paths", {}).get(request.url.path)
    if concrete is not None:
        return sorted(methods | {method.upper() for method in concrete})
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    for method in _METHODS:
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in routes):
            methods.add(method)
    return sorted(methods)


def method_not_allowed(request: Request, exc: StarletteHTTPException) -> Response:
    """OPTIONS: 204 with every method of the path in `Allow`; any other method: 405, same."""
    known = (exc.headers or {}).get("Allow", "")
    allow = {"Allow": ", ".join(path_methods(request, known))}
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=allow)
    return JSONResponse(
        {"detail": f"{request.method} is not allowed here; allowed: {allow['Allow']}"},
        status_code=405,
        headers=allow,
    )


# The parts of a validation error's `ctx` a client may show ("must be more than 0"): the
# bounds, lengths and allowed words. Never `input` (megabytes of base64, or a NaN JSON can't
# encode), nor anything but a finite number or a short string.
CTX_KEYS = ("gt", "ge", "lt", "le", "min_length", "max_length", "expected")
MAX_CTX_TEXT = 200


def _shareable(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and len(value) <= MAX_CTX_TEXT


def _validation_error(error: Mapping[str, object]) -> JSONObject:
    """FastAPI's list form of one error (`type`, `loc`, `msg`), plus `ctx` when it holds
    bounds (CTX_KEYS): the page words the error from them (static/js/messages.js)."""
    loc = error.get("loc", ())
    answer: JSONObject = {
        "type": error.get("type"),
        "loc": list(loc) if isinstance(loc, tuple | list) else [],
        "msg": error.get("msg"),
    }
    ctx = error.get("ctx")
    if isinstance(ctx, Mapping):
        kept = {key: ctx[key] for key in CTX_KEYS if key in ctx and _shareable(ctx[key])}
        if kept:
            answer["ctx"] = kept
    return answer


def install(app: FastAPI) -> None:
    """Map the core's exceptions to HTTP statuses, so routers can just call the core."""
    mapping: dict[type[Exception], int] = {
        RunNotFound: 404,
        ModelNotFound: 404,
        RunStateError: 409,
        ShippedModelError: 409,
        NonFiniteModel: 409,
        NonFiniteAnswer: 409,
        UploadLimitReached: 409,
        TooManyRuns: 429,
        MNISTUnavailable: 503,
        ExecutorUnavailable: 503,
    }
    for exc_type, status in mapping.items():

        async def handler(request: Request, exc: Exception, status: int = status) -> JSONResponse:
            return error(status, _message(exc))

        app.add_exception_handler(exc_type, handler)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, RequestValidationError):  # registered for exactly that type
            raise exc
        return JSONResponse({"detail": [_validation_error(e) for e in exc.errors()]}, 422)

    app.add_exception_handler(RequestValidationError, invalid)

    async def http_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, StarletteHTTPException):  # registered for exactly that type
            raise exc
        # FastAPI answers a body it can't even decode (e.g. not UTF-8) with a bare 400; it is
        # invalid input like any other, so it gets the same 422 as the rest.
        if exc.status_code == 400:
            return error(422, f"the request body could not be parsed: {exc.detail}")
        if exc.status_code == 405:
            return method_not_allowed(request, exc)
        return await http_exception_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, http_error)
    install_disk_errors(app)

    app.add_exception_handler(Exception, unexpected)
    document(app)


async def unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Log the traceback for the operator; never send it to the client.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error(500, "internal server error (logged on the server)")


def install_disk_errors(app: FastAPI) -> None:
    """A full disk (ENOSPC, EDQUOT, SQLite's "database or disk is full") is 507 with what
    could not be written; any other I/O or database error is the server's fault: 500. Both
    answered by ExceptionMiddleware, so the connection stays open (an `Exception` handler
    answers from ServerErrorMiddleware, which then closes it)."""

    async def disk_error(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, StorageFull):
            return error(507, str(exc))
        if is_disk_full(exc):
            return error(507, str(storage_full(f"{request.method} {request.url.path}", exc)))
        return await unexpected(request, exc)

    for exc_type in (OSError, sqlite3.Error):
        app.add_exception_handler(exc_type, disk_error)

"""Error responses: one JSON shape, declared in the OpenAPI schema, mapped from core errors."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.schemas import ErrorResponse
from app.data.mnist import MNISTUnavailable
from app.runs.manager import RunNotFound, RunStateError, TooManyRuns
from app.store.models import ModelNotFound, NonFiniteModel, ShippedModelError

log = logging.getLogger(__name__)

_DESCRIPTIONS = {
    404: "Not found",
    409: "Not possible in the current state",
    413: "Request body too large",
    422: "Invalid input",
    429: "Too many training runs (every slot is busy and the queue is full)",
    503: "MNIST is not available (not found and could not be downloaded)",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for these error codes, all with the ErrorResponse shape."""
    return {code: {"model": ErrorResponse, "description": _DESCRIPTIONS[code]} for code in codes}


def error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _message(exc: BaseException) -> str:
    # KeyError's str() adds quotes around the message; use the argument itself.
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)


def install(app: FastAPI) -> None:
    """Map the core's exceptions to HTTP statuses, so routers can just call the core."""
    mapping: dict[type[Exception], int] = {
        RunNotFound: 404,
        ModelNotFound: 404,
        RunStateError: 409,
        ShippedModelError: 409,
        NonFiniteModel: 409,
        TooManyRuns: 429,
        MNISTUnavailable: 503,
    }
    for exc_type, status in mapping.items():

        async def handler(request: Request, exc: Exception, status: int = status) -> JSONResponse:
            return error(status, _message(exc))

        app.add_exception_handler(exc_type, handler)

    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's list form, minus the echoed `input`/`ctx`: they can be megabytes of base64,
        # or a NaN that JSON can't even encode.
        detail = [
            {"type": e.get("type"), "loc": list(e.get("loc", ())), "msg": e.get("msg")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    app.add_exception_handler(RequestValidationError, invalid)

    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # FastAPI answers a body it can't even decode (e.g. not UTF-8) with a bare 400; it is
        # invalid input like any other, so it gets the same 422 as the rest.
        if exc.status_code == 400:
            return error(422, f"the request body could not be parsed: {exc.detail}")
        return await http_exception_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, http_error)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Log the traceback for the operator; never send it to the client.
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error(500, "internal server error (logged on the server)")

    app.add_exception_handler(Exception, unexpected)

"""Who may do what (issue 16, section 1): the web layer asks the run's or the model's owner
(the run and the registry keep it) and answers 403 with the reason. Rate limits per learner
(section 4) are dependencies of the routes they guard, answered at once without class mode."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.requests import Request

from app.api.deps import Services, get_services
from app.api.errors import Unavailable, error, responses
from app.api.identity import current_principal
from app.api.principals import ANONYMOUS_ID, Principal
from app.api.schemas import ErrorResponse
from app.store.files import is_valid_id
from app.store.metadata import BadMetadata
from app.store.models import ModelEntry, ModelNotFound, ModelRegistry
from app.store.quotas import NetworkTooLarge, OverQuota, Quotas


def may_control(principal: Principal, owner: str | None) -> bool:
    return principal.is_teacher or (owner is not None and principal.id == owner)


def require_owner(principal: Principal, owner: str | None, owner_name: str, what: str) -> None:
    """403 unless `principal` owns the thing (or is the teacher); `what` is what they tried,
    e.g. "stop run r_1234"."""
    if may_control(principal, owner):
        return
    raise HTTPException(
        403, f"only its owner ({owner_name}) or the teacher may {what}; you are {principal.name}"
    )


def may_use(principal: Principal, entry: ModelEntry) -> bool:
    return entry.shared or entry.shipped or may_control(principal, entry.owner)


def require_use(models: ModelRegistry, principal: Principal, model_id: str) -> None:
    """403 when the model is someone else's and not shared (an unknown id: 404)."""
    entry = models.lookup(model_id)
    # The default model is everyone's to use: the teacher chose it for the class.
    if not may_use(principal, entry) and entry.id != models.default_id:
        owner = models.names(entry.owner) if entry.owner else "someone"
        raise HTTPException(
            403, f"model {model_id} belongs to {owner}, who has not shared it; ask them to"
        )


def quotas_for(services: Services, principal: Principal) -> Quotas | None:
    """A learner's quotas; None for the teacher (never limited) and outside class mode."""
    if principal.is_teacher or not services.identity.class_mode:
        return None
    return services.quotas.current


RateKind = Literal["predict", "explain", "runs", "drawings"]


def rate_check(services: Services, request: Request, principal: Principal, kind: RateKind) -> None:
    """429 with Retry-After when `principal` has used up `kind` (the teacher is exempt)."""
    if principal.is_teacher:
        return
    settings = services.settings
    limit = {"predict": settings.rate_predict, "explain": settings.rate_explain,
             "runs": settings.rate_runs, "drawings": settings.rate_drawings}[kind]  # fmt: skip
    who = principal.id
    if who == ANONYMOUS_ID:  # no identity: counted per address
        who = f"ip:{request.client.host if request.client else '?'}"
    wait = services.rates.hit(who, kind, limit)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(
            429,
            f"too many {kind} requests: at most {limit} in any 60 seconds; "
            f"try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


async def _requested_model(request: Request) -> str | None:
    """The model a predict or explain request names (its JSON `model`, or the multipart
    `model` field); None when it names none or the body can't be read (the route then says
    what is wrong with it)."""
    await request.body()  # kept by the request: the route reads the same bytes
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=1, max_fields=4)  # the route's own limits
        except Exception:  # a malformed body: the route answers it
            return None
        value = form.get("model")
    else:
        try:
            body = json.loads(await request.body())
        except (ValueError, RecursionError):
            return None
        value = body.get("model") if isinstance(body, dict) else None
    return value if isinstance(value, str) and value else None


_CALLERS: set[Callable[..., object]] = set()  # the dependencies _caller made


def _caller(kind: RateKind) -> Callable[[Request], Awaitable[Principal]]:
    async def caller(request: Request) -> Principal:
        services = await get_services(request)
        if not services.identity.class_mode:
            return services.identity.local  # today's single user: nothing to check
        principal = await current_principal(request)
        if principal.is_teacher:
            return principal
        rate_check(services, request, principal, kind)
        if services.models.has_private():
            model_id = await _requested_model(request)
            if model_id is not None and is_valid_id(model_id):
                with contextlib.suppress(ModelNotFound):  # the route answers an unknown id
                    require_use(services.models, principal, model_id)
        return principal

    _CALLERS.add(caller)
    return caller


# The predict and explain routes' caller: rate-limited, and only with a model they may use.
PredictCaller = Annotated[Principal, Depends(_caller("predict"))]
ExplainCaller = Annotated[Principal, Depends(_caller("explain"))]


_CLASS_DESCRIPTIONS = {
    401: "In class mode: no identity (or a bearer token that names no one)",
    403: "Not yours (only the owner or the teacher may), a teacher-only action, a learner "
    "limit, or a mutation from another origin",
    409: "Not possible in the current state, or over a learner's limit",
    429: "Too many requests of this kind from you (Retry-After says when to try again), or "
    "every training slot is busy and the queue is full",
}


def class_responses(
    *codes: int, unavailable: Iterable[Unavailable] = ()
) -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses=` for routes that class mode guards (app/api/errors.py's, plus
    class mode's codes described; `unavailable` names a 503's causes, as there)."""
    answers = responses(
        *(code for code in codes if code not in _CLASS_DESCRIPTIONS), unavailable=unavailable
    )
    for code in codes:
        if code in _CLASS_DESCRIPTIONS:
            answers[code] = {"model": ErrorResponse, "description": _CLASS_DESCRIPTIONS[code]}
    return answers


def install_class_errors(app: FastAPI) -> None:
    """Learner limits as HTTP: over a count → 409, a network too large → 403."""

    async def over_quota(request: Request, exc: Exception) -> JSONResponse:
        return error(409, str(exc))

    async def too_large(request: Request, exc: Exception) -> JSONResponse:
        return error(403, str(exc))

    async def bad_name(request: Request, exc: Exception) -> JSONResponse:
        return error(422, str(exc))

    app.add_exception_handler(OverQuota, over_quota)
    app.add_exception_handler(NetworkTooLarge, too_large)
    app.add_exception_handler(BadMetadata, bad_name)


def _calls(dependant: Dependant) -> Iterator[Callable[..., object]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def document_class_errors(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Declare in the OpenAPI schema what class mode adds to the routes of `routers` through their
    dependencies: 401 (a bearer token that names no one) wherever the caller is asked for,
    and 403 (a model not shared with you) and 429 (rate limits) on predict and explain."""
    base = app.openapi

    def openapi() -> dict[str, Any]:  # Any: the OpenAPI document (JSON)
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = base()
        for route in (r for router in routers for r in router.routes):
            if not isinstance(route, APIRoute):
                continue
            calls = set(_calls(route.dependant))
            codes = [401] if current_principal in calls else []
            codes += [401, 403, 429] if calls & _CALLERS else []
            for method in route.methods or ():
                operation = schema["paths"][route.path_format].get(method.lower())
                if operation is None:
                    continue
                for code in codes:
                    operation["responses"].setdefault(str(code), _answer(code))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _answer(code: int) -> dict[str, object]:
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    return {
        "description": _CLASS_DESCRIPTIONS[code],
        "content": {"application/json": {"schema": ref}},
    }

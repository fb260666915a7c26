"""/api/me: who you are here (issue 16), your name, and bearer tokens for API clients."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response, status

from app.api.access import class_responses as responses
from app.api.deps import ServicesDep
from app.api.errors import error
from app.api.identity import CurrentPrincipal, LearnerPrincipal
from app.api.me_schemas import Me, MePatch, TokenResponse
from app.api.principals import ANONYMOUS_ID, Principal
from app.store.learners import BadName

router = APIRouter(prefix="/api/me", tags=["identity"])


def _me(principal: Principal, class_mode: bool) -> Me:
    return Me(
        id=principal.id,
        name=principal.name,
        is_teacher=principal.is_teacher,
        class_mode=class_mode,
    )


@router.get("", response_model=Me)
async def get_me(principal: CurrentPrincipal, services: ServicesDep, response: Response) -> Me:
    """Your identity. In class mode, a caller without one (no cookie, no token) gets a new
    learner identity and its cookie (a client with a cookie jar keeps it from then on)."""
    identity = services.identity
    if principal.id == ANONYMOUS_ID:
        principal = await asyncio.to_thread(identity.new_learner)
        response.headers.append("set-cookie", identity.set_cookie(principal))
    elif principal.id == identity.local.id and not identity.class_mode:
        principal = identity.local
    return _me(principal, identity.class_mode)


@router.patch("", response_model=Me, responses=responses(401, 422))
def patch_me(body: MePatch, principal: LearnerPrincipal, services: ServicesDep) -> Response | Me:
    """Change your display name (1–40 characters of text; shown as text everywhere)."""
    try:
        learner = services.learners.rename(principal.id, body.name)
    except BadName as exc:
        return error(422, f"name: {exc}")
    renamed = services.identity.of(learner)
    if renamed.is_teacher and not services.identity.class_mode:
        services.identity.local = renamed
    return _me(renamed, services.identity.class_mode)


@router.post(
    "/token",
    response_model=TokenResponse,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401),
)
def new_token(principal: LearnerPrincipal, services: ServicesDep) -> TokenResponse:
    """A new bearer token for you, for API clients: `Authorization: Bearer <token>` then acts
    as you on every endpoint. Shown once; keep it secret."""
    return TokenResponse(token=services.learners.new_token(principal.id))

"""Who is asking: the learner (or the teacher) behind a request (issue 16).

The contract the other branches build on:

* `Principal`: `id` (stable learner id, the `owner` of runs and models), `name` (display
  name, user-controlled text), `is_teacher`.
* `CurrentPrincipal`: an Annotated dependency giving the request's Principal (HTTP and
  WebSocket alike).
* `TeacherPrincipal`: the same, but 403 with a `detail` unless the caller is the teacher.
* `LearnerPrincipal`: the same, but 401 unless the caller has an identity (a cookie or a
  bearer token): what creates something the caller will own needs one.

Without class mode the server has one user, who is the teacher of their own server: every
request is that Principal, answered at once from a constant (no cookie is read).

In class mode (docs/api.md, "Identity"): `Authorization: Bearer <token>` (a learner's token
or the teacher token) comes first, then the signed `nnp_id` cookie. A request with neither is
*anonymous*: it may read, watch and predict, but it owns nothing; a browser gets its cookie on
its first page load (app/api/teacher_link.py) or from `GET /api/me`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, WebSocketException, status
from starlette.requests import HTTPConnection

from app.api.deps import get_services
from app.api.principals import (
    ANONYMOUS_ID,
    COOKIE_NAME,
    BadCredentials,
    Principal,
)
from app.store.db import TEACHER_ID

__all__ = [
    "LOCAL_ID",
    "CurrentPrincipal",
    "LearnerPrincipal",
    "Principal",
    "TeacherPrincipal",
    "current_principal",
]

LOCAL_ID = TEACHER_ID
NO_IDENTITY = (
    "you have no identity here: open the page once (it sets a cookie), call GET /api/me with "
    "a cookie jar, or send 'Authorization: Bearer <token>' (nn-playground token)"
)


def _refuse(conn: HTTPConnection, code: int, detail: str) -> Exception:
    if conn.scope["type"] == "websocket":
        return WebSocketException(status.WS_1008_POLICY_VIOLATION, detail)
    headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
    return HTTPException(code, detail, headers=headers)


async def current_principal(conn: HTTPConnection) -> Principal:
    identity = (await get_services(conn)).identity
    if not identity.class_mode:
        return identity.local
    authorization = conn.headers.get("authorization")
    try:
        principal = identity.resolve(authorization, conn.cookies.get(COOKIE_NAME))
    except BadCredentials as exc:
        raise _refuse(conn, 401, str(exc)) from None
    return principal if principal is not None else identity.anonymous


async def teacher_principal(
    conn: HTTPConnection, principal: Annotated[Principal, Depends(current_principal)]
) -> Principal:
    if not principal.is_teacher:
        raise _refuse(conn, 403, "only the teacher may do this")
    return principal


async def learner_principal(
    conn: HTTPConnection, principal: Annotated[Principal, Depends(current_principal)]
) -> Principal:
    if principal.id == ANONYMOUS_ID:
        raise _refuse(conn, 401, NO_IDENTITY)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
TeacherPrincipal = Annotated[Principal, Depends(teacher_principal)]
LearnerPrincipal = Annotated[Principal, Depends(learner_principal)]

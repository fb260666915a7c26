"""Who is asking: the learner (or the teacher) behind a request.

CONTRACT STUB (issue 16). The class-mode branch replaces the implementation (signed cookie,
bearer tokens, the teacher token, learners in the store); the names below are the contract
the other branches build on and stay as they are:

* `Principal`: `id` (stable learner id, the `owner` of runs and models), `name` (display
  name, user-controlled text), `is_teacher`.
* `CurrentPrincipal`: an Annotated dependency giving the request's Principal (HTTP and
  WebSocket alike).
* `TeacherPrincipal`: the same, but 403 with a `detail` unless the caller is the teacher.

Without class mode the server has one user, who is the teacher of their own server: every
request is that Principal (this stub does only that).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException
from starlette.requests import HTTPConnection

LOCAL_ID = "local"


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    is_teacher: bool


async def current_principal(conn: HTTPConnection) -> Principal:
    return Principal(id=LOCAL_ID, name="you", is_teacher=True)


async def teacher_principal(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    if not principal.is_teacher:
        raise HTTPException(403, "only the teacher may do this")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
TeacherPrincipal = Annotated[Principal, Depends(teacher_principal)]

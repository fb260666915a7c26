"""Class mode's page visits (issue 16): installed only in class mode, so a single-user
server pays nothing for it.

* The teacher's link `/?teacher=<token>` (or any page with `?teacher=`): a right token sets
  the teacher's cookie and redirects (303) to the same URL without the token, so it never
  stays in the address bar or the history; a wrong one is 403.
* A page visit (GET of a page, Accept: text/html) without a valid identity cookie gives the
  browser a new learner identity (a generated name) in a signed, HttpOnly, SameSite=Lax
  cookie. API requests never get one unasked (GET /api/me does that).
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import Services
from app.api.principals import COOKIE_NAME, Identity

NOT_PAGES = ("/api/", "/static/", "/healthz", "/openapi.json", "/docs")
TEACHER_PARAM = "teacher"


def _cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class ClassCookieMiddleware:
    """Installed in class mode only (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] != "GET" or path.startswith(NOT_PAGES):
            await self.app(scope, receive, send)
            return
        services: Services = scope["app"].state.services  # the lifespan put it there
        await self._page(scope, receive, send, services.identity)

    async def _page(self, scope: Scope, receive: Receive, send: Send, identity: Identity) -> None:
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)
        if any(key == TEACHER_PARAM for key, _ in query):
            await _teacher_link(scope, receive, send, query, identity)
            return
        headers = Headers(scope=scope)
        if "text/html" not in headers.get("accept", "") or identity.from_cookie(
            _cookie(headers, COOKIE_NAME)
        ):
            await self.app(scope, receive, send)
            return
        learner = await asyncio.to_thread(identity.new_learner)
        cookie = identity.set_cookie(learner).encode("latin-1")
        await self.app(scope, receive, _with_cookie(send, cookie))


def _with_cookie(send: Send, cookie: bytes) -> Send:

    async def send_with_cookie(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message["headers"], (b"set-cookie", cookie)]}
        await send(message)

    return send_with_cookie


async def _teacher_link(
    scope: Scope, receive: Receive, send: Send, query: list[tuple[str, str]], identity: Identity
) -> None:
    token = next(value for key, value in query if key == TEACHER_PARAM)
    if not identity.is_teacher_token(token):
        response = JSONResponse(
            {"detail": "this teacher link is not valid (its token is wrong or was changed)"},
            status_code=403,
        )
        await response(scope, receive, send)
        return
    rest = urlencode([(key, value) for key, value in query if key != TEACHER_PARAM])
    path = "/" + str(scope.get("path", "/")).lstrip("/")  # never `//host`: another site
    target = path + (f"?{rest}" if rest else "")
    redirect = RedirectResponse(target, status_code=303)
    redirect.headers.append("set-cookie", identity.set_cookie(identity.teacher()))
    redirect.headers["cache-control"] = "no-store"
    await redirect(scope, receive, send)

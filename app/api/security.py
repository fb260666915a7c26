"""Only the page and local clients drive the server (issue 11, section 1).

A pure ASGI middleware that, for HTTP and WebSocket alike:
- refuses a Host that is not allowed (400): defeats DNS rebinding;
- refuses a mutation (POST/PUT/PATCH/DELETE) or a WebSocket handshake whose Origin (or, without
  one, Referer) is not the server's own origin nor an allowed one (403); `Origin: null` is
  refused; a request without Origin and Referer (curl, httpx, the CLI) is let through;
- adds the security headers (CSP and friends) to every HTTP response.

`ContentTypeMiddleware` answers 415 to a request body whose media type
the matched route does not take (JSON routes take only `application/json`): a cross-site page
can send `text/plain` or a typeless body without a CORS preflight, never `application/json`.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import urlsplit

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
MUTATIONS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    )
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


def host_name(host: str) -> str:
    """`example.com:8000` → `example.com`; `[::1]:8000` → `[::1]`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_REG_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")  # a DNS name or a dotted IPv4 address
_PORT = re.compile(r"[0-9]{1,5}")


@functools.lru_cache(maxsize=64)  # pure; a client sends the same Host with every request
def parse_host(value: str) -> str | None:
    """The host of a Host header's value, lower-cased (`[::1]` keeps its brackets), or None
    when the value is not exactly `host[:port]` (RFC 3986 / RFC 9110): a DNS name, an IPv4
    address or a bracketed IPv6 address, then at most a port of digits. Anything else, such as
    `localhost:80@evil.com`, `[::1]evil.com` or `localhost:80, evil.com`, is refused rather
    than guessed at."""
    value = value.lower()
    if value.startswith("["):
        end = value.find("]")
        host, rest = value[: end + 1], value[end + 1 :]
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
    else:
        host, colon, port = value.partition(":")
        rest = colon + port
        if _REG_NAME.fullmatch(host) is None:
            return None
    if rest and not (
        rest[0] == ":" and (rest == ":" or (_PORT.fullmatch(rest[1:]) and int(rest[1:]) <= 65535))
    ):
        return None
    return host


def _host_header(scope: Scope) -> str | None:
    """The one Host header's value; None when there is none or more than one."""
    values = [value for key, value in scope.get("headers", ()) if key == b"host"]
    return values[0].decode("latin-1") if len(values) == 1 else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class SecurityMiddleware:
    def __init__(
        self, app: ASGIApp, allowed_hosts: Iterable[str], allowed_origins: Iterable[str]
    ) -> None:
        self.app = app
        self.hosts = {host_name(h) for h in allowed_hosts}
        self.origins = {o.rstrip("/").lower() for o in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        problem = self.check(scope)
        if problem is not None:
            status, detail = problem
            await self.refuse(scope, send, status, detail)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def check(self, scope: Scope) -> tuple[int, str] | None:
        host = _host_header(scope)
        if host is None:
            return 400, "give exactly one Host header"
        if parse_host(host) not in self.hosts:
            return 400, f"Host {host!r} is not allowed"
        if scope["type"] == "http" and scope["method"] not in MUTATIONS:
            return None
        origin = _header(scope, b"origin")
        if origin is None:
            referer = _header(scope, b"referer")
            if referer is None:
                return None
            parts = urlsplit(referer)
            origin = f"{parts.scheme}://{parts.netloc}"
        if self.origin_allowed(scope, host, origin):
            return None
        return 403, f"Origin {origin!r} may not drive this server"

    def origin_allowed(self, scope: Scope, host: str, origin: str) -> bool:
        origin = origin.strip().rstrip("/").lower()
        if origin in self.origins:
            return True
        secure = scope.get("scheme") in ("https", "wss")
        own = f"{'https' if secure else 'http'}://{host.lower()}"
        return origin == own

    async def refuse(self, scope: Scope, send: Send, status: int, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *SECURITY_HEADERS,
        ]
        if scope["type"] == "websocket":
            if status == 403 or "websocket.http.response" not in scope.get("extensions", {}):
                # Before accept: the server answers the handshake with 403 and no data is sent.
                await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
                return
            # A foreign Host: the handshake is answered like any HTTP request, 400 + detail.
            prefix = "websocket."
        else:
            prefix = ""
        start = {"type": f"{prefix}http.response.start", "status": status, "headers": headers}
        await send(start)
        await send({"type": f"{prefix}http.response.body", "body": body})


def allowed_hosts(extra: Iterable[str], bind_host: str) -> list[str]:
    return [*LOOPBACK_HOSTS, *extra, bind_host]


# ---- content types ------------------------------------------------------------------------

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def media_type(content_type: str) -> str:
    """`Application/JSON; charset=utf-8` → `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()


def accepted_media_types(route: APIRoute) -> frozenset[str]:
    """The body media types a route takes: what its OpenAPI `requestBody` declares by hand
    (predict), else its body parameters' kind (JSON model, form, file); empty when it takes
    no body."""
    extra = (route.openapi_extra or {}).get("requestBody", {}).get("content")
    if extra:
        return frozenset(media_type(name) for name in extra)
    if route.body_field is None:
        return frozenset()
    declared = media_type(getattr(route.body_field.field_info, "media_type", JSON))
    # Starlette parses a form (File fields included) from either encoding; a urlencoded body
    # can't hold a file, and then gets the usual 422 for the missing field.
    return frozenset({FORM, MULTIPART}) if declared in (FORM, MULTIPART) else frozenset({declared})


def _has_body(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key == b"content-length":
            return value.strip() not in (b"", b"0")
        if key == b"transfer-encoding":
            return True
    return False


def _flat(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """The routes, with those of included routers in their place (FastAPI wraps an included
    router in one route that holds the original router)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _flat(inner.routes)
        else:
            yield route


# ContentTypeMiddleware's memo: at most this many paths of routes that exist, none longer than
# _PATH_KEPT_CHARS (anyone may send paths: at most ~260 kB, and 404s are never kept).
_PATHS_KEPT = 1024
_PATH_KEPT_CHARS = 256


class ContentTypeMiddleware:
    """415 when a request carries a body of a media type the route it is for does not take.

    A pure ASGI middleware, not an app-wide dependency: a request without a body (nearly all
    GETs) costs one header scan, not a pass through FastAPI's dependency machinery. A request
    with a body is matched against the routes here (the first full match, as the router does);
    one no route fully matches is left to the app's 404/405.
    """

    def __init__(self, app: ASGIApp, routes: Callable[[], Iterable[BaseRoute]]) -> None:
        self.app = app
        self.routes = routes
        self.accepted: dict[int, frozenset[str]] = {}  # id(route) → its media types
        self.flat: list[BaseRoute] | None = None  # the app's routes, flattened on first use
        # (method, path) → the media types its route takes (empty: it reads no body):
        # matching the routes one by one took ~30 µs of each predict. Bounded (paths with ids
        # are many): emptied when full.
        self.by_path: dict[tuple[str, str], frozenset[str]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_body(scope):
            problem = self.check(scope)
            if problem is not None:
                body = json.dumps({"detail": problem}).encode()
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]
                await send({"type": "http.response.start", "status": 415, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def check(self, scope: Scope) -> str | None:
        key = (scope["method"], scope["path"])
        accepted = self.by_path.get(key)
        if accepted is None:
            found = self._route_accepts(scope)
            if found is None:
                return None  # no API route: the app answers 404/405 (and nothing is kept)
            accepted = found
            if len(key[1]) <= _PATH_KEPT_CHARS:
                if len(self.by_path) >= _PATHS_KEPT:
                    self.by_path.clear()
                self.by_path[key] = accepted
        if not accepted:
            return None  # the route reads no body; whatever was sent is ignored
        given = media_type(_header(scope, b"content-type") or "")
        if given in accepted:
            return None
        wanted = " or ".join(sorted(accepted))
        problem = f"Content-Type {given!r} is not accepted" if given else "No Content-Type given"
        return f"{problem}: send the body as {wanted}"

    def _route_accepts(self, scope: Scope) -> frozenset[str] | None:
        """The media types the route `scope` is for takes (the first full match, as the
        router does; empty: it reads no body); None when no API route fully matches."""
        if self.flat is None:
            self.flat = list(_flat(self.routes()))
        route = next((r for r in self.flat if r.matches(scope)[0] is Match.FULL), None)
        if not isinstance(route, APIRoute):
            return None
        accepted = self.accepted.get(id(route))
        if accepted is None:
            accepted = self.accepted[id(route)] = accepted_media_types(route)
        return accepted

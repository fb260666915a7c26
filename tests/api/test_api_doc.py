"""docs/api.md lists every route the app serves, and only those (the guide: docs in step with
the code). A route is listed as `METHOD /path` (e.g. `POST /api/runs`, or
`POST /api/runs/{id}/pause|resume` for several), a WebSocket as WebSocket `/path`; parameter
names and query strings don't matter."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from starlette.routing import Mount, Route

from app.main import create_app
from app.settings import Settings

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
HTTP = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s?]*)")
WEBSOCKET = re.compile(r"WebSocket `(/[^`\s?]*)`")


def _normal(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def documented(text: str) -> set[tuple[str, str]]:
    """(method, path) of every route `text` names; `a|b` in the last segment names each."""
    found = {("WS", _normal(path)) for path in WEBSOCKET.findall(text)}
    for method, path in HTTP.findall(text):
        head, _, last = path.rpartition("/")
        found |= {(method, _normal(f"{head}/{one}")) for one in last.split("|")}
    return found


def served(settings: Settings) -> set[tuple[str, str]]:
    found = set()
    for context in iter_route_contexts(create_app(settings).routes):
        route, path = context.original_route, context.path_format
        if isinstance(route, Mount) or path is None:  # static files: not API
            continue
        if isinstance(route, APIWebSocketRoute):
            found.add(("WS", _normal(path)))
        elif isinstance(route, APIRoute | Route):
            found |= {(m, _normal(path)) for m in route.methods or () if m != "HEAD"}
    return found


def test_the_doc_parser_reads_alternatives_and_parameters() -> None:
    text = "`POST /api/runs/{id}/pause|stop` and `GET /api/x?y=1`, WebSocket `/api/runs/{id}/e`"
    assert documented(text) == {
        ("POST", "/api/runs/{}/pause"),
        ("POST", "/api/runs/{}/stop"),
        ("GET", "/api/x"),
        ("WS", "/api/runs/{}/e"),
    }


def test_docs_api_md_lists_exactly_the_served_routes(settings: Settings) -> None:
    listed, real = documented(API_DOC.read_text()), served(settings)
    assert {"missing from docs/api.md": real - listed, "not served": listed - real} == {
        "missing from docs/api.md": set(),
        "not served": set(),
    }

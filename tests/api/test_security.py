"""Only the page and local clients drive the server: Host, Origin, WebSocket, headers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect
from websockets.typing import Origin

from app.nn.network import Network
from app.nn.serialize import model_to_bytes

from .api_support import LONG_RUN, digit_png
from .test_server import server

HEADERS = (
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
)


def model_names(client: TestClient) -> list[str]:
    return sorted(m["id"] for m in client.get("/api/models").json()["models"])


def test_foreign_host_is_400_and_changes_nothing(client: TestClient) -> None:
    before = model_names(client)
    r = client.get("/api/models", headers={"host": "evil.example"})
    assert r.status_code == 400 and "detail" in r.json()
    r = client.delete("/api/models/anything", headers={"host": "rebind.evil.example:8000"})
    assert r.status_code == 400 and "detail" in r.json()
    assert model_names(client) == before


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1", "[::1]:9000"])
def test_loopback_hosts_are_allowed(client: TestClient, host: str) -> None:
    assert client.get("/api/models", headers={"host": host}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"origin": "http://localhost:9999"},
        {"referer": "http://evil.example/page.html"},
    ],
)
def test_foreign_origin_cannot_mutate(client: TestClient, headers: dict[str, str]) -> None:
    before = model_names(client)
    name = before[0]
    r = client.delete(f"/api/models/{name}", headers=headers)
    assert r.status_code == 403 and "detail" in r.json()
    assert model_names(client) == before


def test_own_origin_and_no_origin_may_mutate(client: TestClient) -> None:
    pixels = [0.0] * 392 + [1.0] * 392
    for headers in ({}, {"origin": "http://localhost"}, {"referer": "http://localhost/x"}):
        r = client.post("/api/predict", json={"pixels": pixels}, headers=headers)
        assert r.status_code == 200, (headers, r.text)


def test_websocket_with_foreign_origin_is_refused(client: TestClient) -> None:
    for origin in ("http://evil.example", "null"):
        url, headers = "/api/runs/none/events", {"origin": origin}
        with pytest.raises(WebSocketDisconnect), client.websocket_connect(url, headers=headers):
            pass


@pytest.mark.parametrize("path", ["/", "/api/models", "/api/nope", "/static/nope.js"])
def test_every_response_carries_the_headers(client: TestClient, path: str) -> None:
    r = client.get(path)
    for name in HEADERS:
        assert name in r.headers, (path, r.status_code, name)
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"


def test_error_responses_carry_the_headers(client: TestClient) -> None:
    r = client.post("/api/predict", json={"pixels": "nope"})
    assert r.status_code == 422
    assert "content-security-policy" in r.headers
    r = client.post(
        "/api/predict", content=b"x" * 3_000_000, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert "content-security-policy" in r.headers


# ---- content types (415) --------------------------------------------------------------------

PIXELS = [0.0] * 392 + [1.0] * 392


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/predict", "text/plain"),  # what a cross-site fetch or form can send unpreflighted
        ("/api/predict", "text/plain;charset=UTF-8"),
        ("/api/predict", "application/x-www-form-urlencoded"),
        ("/api/predict", None),  # a Blob body without a type: no Content-Type at all
        ("/api/runs", "text/plain"),
        ("/api/explain", "text/plain"),
        ("/api/models", "application/json"),  # the upload takes multipart only
        ("/api/models", "text/plain"),
    ],
)
def test_a_body_of_the_wrong_media_type_is_415(
    client: TestClient, path: str, content_type: str | None
) -> None:
    runs_before = client.get("/api/runs").json()
    models_before = model_names(client)
    body = json.dumps({"pixels": PIXELS, "preset": "3b1b"}).encode()
    headers = {} if content_type is None else {"content-type": content_type}
    r = client.post(path, content=body, headers=headers)
    assert r.status_code == 415, r.text
    assert isinstance(r.json()["detail"], str) and "Content-Type" in r.json()["detail"]
    assert client.get("/api/runs").json() == runs_before
    assert model_names(client) == models_before


def test_json_with_a_charset_and_multipart_uploads_are_accepted(client: TestClient) -> None:
    body = json.dumps({"pixels": PIXELS}).encode()
    for content_type in ("application/json", "application/json; charset=utf-8", "Application/JSON"):
        r = client.post("/api/predict", content=body, headers={"content-type": content_type})
        assert r.status_code == 200, (content_type, r.text)
    r = client.post("/api/predict", files={"file": ("7.png", digit_png())})
    assert r.status_code == 200, r.text
    data = model_to_bytes(Network([784, 8, 10], seed=3), {})
    r = client.post("/api/models", files={"file": ("net.npz", data)}, data={"name": "mine"})
    assert r.status_code == 201, r.text


def test_the_media_type_check_holds_on_every_repeat_and_per_method(client: TestClient) -> None:
    """The check remembers each path's route (a memo, for speed): a second and third wrong
    body on one path is still 415 after a right one, and two methods on one path are told
    apart (PATCH /api/models/{id} takes JSON, DELETE takes no body)."""
    body = json.dumps({"pixels": PIXELS}).encode()
    for content_type, status in [("text/plain", 415), ("application/json", 200)] * 2 + [
        ("text/plain", 415)
    ]:
        r = client.post("/api/predict", content=body, headers={"content-type": content_type})
        assert r.status_code == status, (content_type, r.text)
    data = model_to_bytes(Network([784, 8, 10], seed=3), {})
    model = client.post("/api/models", files={"file": ("net.npz", data)}).json()["id"]
    for _ in range(2):
        r = client.patch(
            f"/api/models/{model}", content=b'{"name": "x"}', headers={"content-type": "text/plain"}
        )
        assert r.status_code == 415, r.text
        r = client.request(
            "DELETE",
            f"/api/models/no-such-{model}",
            content=b"x",
            headers={"content-type": "text/plain"},
        )
        assert r.status_code == 404, r.text  # takes no body: nothing to type-check
    assert client.patch(f"/api/models/{model}", json={"name": "x"}).status_code == 200
    for _ in range(2):  # a path no route has: the app's 404, whatever the body
        r = client.post("/api/nothing-here", content=b"x", headers={"content-type": "text/plain"})
        assert r.status_code == 404, r.text


def test_a_bodiless_mutation_needs_no_content_type(client: TestClient) -> None:
    # e.g. `curl -X DELETE` or `curl -X POST .../pause`: nothing to type-check.
    r = client.delete("/api/models/no-such-model")
    assert r.status_code == 404
    r = client.post("/api/runs/no-such-run/pause", headers={"content-type": "text/plain"})
    assert r.status_code == 404


def test_the_schema_declares_the_415(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    with_body = [
        (path, method)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]
    assert ("/api/predict", "post") in with_body and ("/api/models", "post") in with_body
    for path, method in with_body:
        assert "415" in schema["paths"][path][method]["responses"], (path, method)
    assert "415" not in schema["paths"]["/api/models"]["get"]["responses"]


# ---- WebSocket handshakes over a real server ------------------------------------------------


def test_websocket_handshake_with_a_foreign_origin_gets_403_and_no_data(
    tmp_path: Path, mnist_dir: Path
) -> None:
    with server(tmp_path / "data", mnist_dir) as (url, _):
        run = httpx.post(f"{url}/api/runs", json=LONG_RUN, timeout=10).json()
        ws_url = url.replace("http://", "ws://") + f"/api/runs/{run['id']}/events"
        try:
            for origin in ("http://evil.example", "null", "http://localhost:1"):
                with pytest.raises(InvalidStatus) as refused:
                    ws_connect(ws_url, origin=Origin(origin), open_timeout=5)
                assert refused.value.response.status_code == 403, origin
            # Own origin, and no Origin at all (a script), are accepted and get the snapshot.
            for origin in (url, None):
                extra = {} if origin is None else {"origin": Origin(origin)}
                with ws_connect(ws_url, open_timeout=5, **extra) as ws:
                    first = json.loads(ws.recv(timeout=10))
                assert first["type"] == "snapshot", first
        finally:
            httpx.post(f"{url}/api/runs/{run['id']}/stop", timeout=10)


# ---- offline docs ---------------------------------------------------------------------------


def test_docs_page_loads_only_same_origin_files_and_no_inline_script(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and "content-security-policy" in r.headers
    html = r.text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 2
    assert all('src="' in attrs and body.strip() == "" for attrs, body in scripts)
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert 'data-openapi-url="/openapi.json"' in html
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["x-content-type-options"] == "nosniff"
    assert client.get("/redoc").status_code == 404


def test_every_operation_takes_exactly_the_media_types_its_schema_declares(
    client: TestClient,
) -> None:
    """The check derives from the routes, so it covers each body-taking operation: the types
    the OpenAPI schema lists pass it (then fail validation: 4xx, not 415), text/plain doesn't."""
    schema = client.get("/openapi.json").json()
    checked = 0
    for path, item in schema["paths"].items():
        url = re.sub(r"\{[^}]+\}", "x", path)
        for method, operation in item.items():
            if "requestBody" not in operation:
                continue
            checked += 1
            r = client.request(method, url, content=b"[]", headers={"content-type": "text/plain"})
            assert r.status_code == 415, (method, path, r.status_code)
            for declared in operation["requestBody"]["content"]:
                if declared == "application/json":
                    body, content_type = b"[]", declared  # valid JSON, never a valid body
                else:  # an empty form: the required field is missing
                    body, content_type = b"--b--\r\n", f"{declared}; boundary=b"
                r = client.request(
                    method, url, content=body, headers={"content-type": content_type}
                )
                assert r.status_code in (404, 409, 422), (method, path, declared, r.status_code)
    assert checked >= 8

"""Only the page and local clients drive the server: Host, Origin, WebSocket, headers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

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

"""Each operation's documented 503 says why that operation can be unavailable (issue 20): predict
and explain are also refused when the heavy-request pool is busy (app/api/heavy.py), not only
when MNIST is missing; a body-taking method can wait too long for a body reader (408 / 503)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.api.errors import responses

MNIST = "MNIST is not available"
BUSY = "heavy-request slot is busy"
EXECUTOR = "training backend"
BODIES = "request bodies"


def _operation(client: TestClient, method: str, path: str) -> dict:
    operation: dict = client.get("/openapi.json").json()["paths"][path][method]
    return operation


def _unavailable(client: TestClient, method: str, path: str) -> str:
    description: str = _operation(client, method, path)["responses"]["503"]["description"]
    return description


@pytest.mark.parametrize(
    ("method", "path", "said", "unsaid"),
    [
        ("post", "/api/predict", {BUSY, BODIES}, {MNIST, EXECUTOR}),
        ("post", "/api/explain", {BUSY, MNIST, BODIES}, {EXECUTOR}),
        ("post", "/api/explain/step", {BUSY, BODIES}, {MNIST, EXECUTOR}),
        ("get", "/api/digits/{index}", {MNIST}, {BUSY, BODIES, EXECUTOR}),
        ("post", "/api/runs", {MNIST, EXECUTOR, BODIES}, {BUSY}),
        ("get", "/api/runs/{run_id}/digits", {MNIST}, {BUSY, BODIES, EXECUTOR}),
    ],
)
def test_each_503_names_its_own_causes(
    client: TestClient, method: str, path: str, said: set[str], unsaid: set[str]
) -> None:
    description = _unavailable(client, method, path)
    assert all(cause in description for cause in said), description
    assert not any(cause in description for cause in unsaid), description


def test_a_get_that_is_never_unavailable_declares_no_503(client: TestClient) -> None:
    assert "503" not in _operation(client, "get", "/api/models")["responses"]


def test_every_method_with_a_body_declares_the_body_limits(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            codes = operation["responses"]
            if method in ("post", "put", "patch"):
                assert "408" in codes, (method, path)
                assert BODIES in codes["503"]["description"], (method, path)
            else:
                assert "408" not in codes, (method, path)


def test_a_bare_503_keeps_its_historic_meaning() -> None:
    # Routers of other branches still say `responses(..., 503)`: it stays "MNIST", as it was.
    assert MNIST in responses(404, 503)[503]["description"]
    assert responses(503, unavailable=["busy"])[503]["description"].count(MNIST) == 0

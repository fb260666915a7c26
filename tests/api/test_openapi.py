"""The OpenAPI schema tells the truth about errors, and OPTIONS / 405 name every method."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}


def _error_schema(operation: dict, code: int) -> dict:
    return operation["responses"][str(code)]["content"]["application/json"]["schema"]


def test_every_operation_declares_its_errors_with_a_detail(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "detail" in schema["components"]["schemas"]["ErrorResponse"]["required"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            codes = {int(c) for c in operation["responses"] if c[0] in "45"}
            assert 400 in codes, (method, path)  # the Host check
            if method in ("post", "put", "patch", "delete"):
                assert 403 in codes, (method, path)  # the Origin check
            if "requestBody" in operation:
                assert {413, 415, 422} <= codes, (method, path)
            if "{" in path:
                assert 422 in codes, (method, path)  # an id that is not in the id alphabet
            for code in codes:
                assert _error_schema(operation, code) == ERROR_REF, (method, path, code)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("post", "/api/predict", {404, 413, 422}),
        ("post", "/api/models", {413, 422}),
        ("get", "/api/models/{model_id}/network", {404, 409, 422}),
        ("delete", "/api/models/{model_id}", {404, 409}),
        ("post", "/api/runs", {422, 429}),
        ("get", "/api/runs/{run_id}/network", {404, 409}),
        ("post", "/api/runs/{run_id}/save", {404, 409, 413, 422}),
        ("patch", "/api/runs/{run_id}", {404, 409, 422}),
        ("get", "/api/digits/{index}", {404, 503}),
    ],
)
def test_specific_errors_are_declared(
    client: TestClient, method: str, path: str, expected: set[int]
) -> None:
    operation = client.get("/openapi.json").json()["paths"][path][method]
    assert expected <= {int(c) for c in operation["responses"]}


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/models", {"GET", "POST"}),
        ("/api/models/accurate", {"GET", "PATCH", "DELETE"}),  # PATCH: issue 16
        ("/api/models/default", {"PUT"}),
        ("/api/runs", {"GET", "POST"}),
        ("/api/runs/r_00000000", {"GET", "PATCH", "DELETE"}),
        ("/api/runs/r_00000000/save", {"POST"}),
        ("/healthz", {"GET"}),
    ],
)
def test_options_and_405_list_every_method_of_the_path(
    client: TestClient, path: str, methods: set[str]
) -> None:
    allowed = methods | {"OPTIONS"}
    r = client.options(path)
    assert r.status_code == 204
    assert {m.strip() for m in r.headers["allow"].split(",")} == allowed
    r = client.request("TRACE", path)
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["allow"].split(",")} == allowed
    assert "TRACE" in r.json()["detail"]

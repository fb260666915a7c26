"""Every JSON request body in the API schema carries an example that /docs ("Try it out")
sends as it is: each validates against its own request model, and the server accepts it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.api import drawing_schemas, explain_schemas, me_schemas, schemas

RUN = "/api/runs/{run_id}"
# Each operation with a JSON body, and what the server answers its example with (writing out
# here what the API promises, not reading it from the code).
EXPECTED = {
    ("post", "/api/predict"): {200},
    ("put", "/api/models/default"): {200},
    ("post", "/api/runs"): {201},
    ("patch", RUN): {200},
    ("post", f"{RUN}/speed"): {200},
    ("post", f"{RUN}/save"): {201, 409},  # 409: a run that has not trained yet has no weights
    ("post", "/api/explain"): {200},
    ("post", "/api/explain/step"): {200},
    # issue 16 (class mode): without it, the caller is the teacher; a shipped model can't change
    ("patch", "/api/me"): {200},
    ("patch", "/api/models/{model_id}"): {409},
    ("patch", "/api/class/limits"): {200},
    ("put", "/api/class/config"): {200},  # the teacher pushes a config (a RunCreate body)
    # issue 17: a labelled drawing, then relabelled
    ("post", "/api/drawings"): {201},
    ("patch", "/api/drawings/{drawing_id}"): {200},
}


def _models() -> dict[str, type[BaseModel]]:
    found = {}
    for module in (schemas, explain_schemas, me_schemas, drawing_schemas):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel):
                found[value.__name__] = value
    return found


def _json_bodies(client: TestClient) -> dict[tuple[str, str], tuple[str, dict]]:
    """(method, path) → (its request model's name, its schema) for every JSON body."""
    spec = client.get("/openapi.json").json()
    out = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                continue
            # An optional body (`SaveRequest | None`): its model is the branch that is not null.
            schema = next((b for b in schema.get("anyOf", []) if "$ref" in b), schema)
            if "$ref" in schema:
                name = schema["$ref"].rsplit("/", 1)[-1]
                schema = spec["components"]["schemas"][name]
            else:
                name = schema["title"]
            out[(method, path)] = (name, schema)
    return out


def test_every_json_body_has_examples_that_its_model_accepts(client: TestClient) -> None:
    bodies = _json_bodies(client)
    assert set(bodies) == set(EXPECTED)
    models = _models()
    for (method, path), (name, schema) in bodies.items():
        assert schema.get("examples"), (method, path)
        for example in schema["examples"]:
            models[name].model_validate(example)  # raises ValidationError if refused


def test_the_server_accepts_every_example(client: TestClient) -> None:
    bodies = _json_bodies(client)
    run_id = drawing_id = None
    # A run first, then a drawing (the operations on them need one).
    order = sorted(EXPECTED, key=lambda key: (key[1] != "/api/runs", key[1] != "/api/drawings"))
    try:
        for method, path in order:
            for example in bodies[(method, path)][1]["examples"]:
                url = path.replace("{run_id}", str(run_id)).replace("{model_id}", "accurate")
                url = url.replace("{drawing_id}", str(drawing_id))
                r = client.request(method.upper(), url, json=example)
                assert r.status_code in EXPECTED[(method, path)], (method, path, r.text)
                if path == "/api/runs":
                    run_id = r.json()["id"]
                if path == "/api/drawings":
                    drawing_id = r.json()["id"]
    finally:
        if run_id is not None:
            client.delete(f"/api/runs/{run_id}")

"""GET /api/models/{id}/dreams: schema, errors, the cache, and the numbers against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.nn.network import Network
from app.nn.serialize import model_to_bytes

from .api_support import npz_arrays


def _probabilities(ws: list, bs: list, meta: dict, x: np.ndarray) -> np.ndarray:
    """predict's probabilities, from the .npz alone: sigmoid outputs normalised by their sum
    (quadratic cost) or softmax (cross-entropy)."""
    a = x
    act = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0)}
    for k, (w, b) in enumerate(zip(ws, bs, strict=True)):
        z = a @ w.T + b
        a = act[meta["activation"]](z) if k < len(ws) - 1 else z
    if meta["cost"] == "quadratic":
        s = 1 / (1 + np.exp(-a))
        return s / s.sum(1, keepdims=True)
    e = np.exp(a - a.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@pytest.mark.parametrize("model", ["3b1b", "accurate"])
def test_dreams_answer_ten_images_and_what_the_model_says_of_them(
    client: TestClient, model: str
) -> None:
    r = client.get(f"/api/models/{model}/dreams")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"model", "digits", "images", "probabilities", "steps", "seconds", "cached"}
    assert body["model"] == model and body["digits"] == list(range(10))
    images = np.array(body["images"])
    assert images.shape == (10, 784)
    assert images.min() >= 0 and images.max() <= 1 and images.std() > 0
    probabilities = np.array(body["probabilities"])
    assert probabilities.shape == (10, 10)
    ws, bs, meta = npz_arrays(client, model)
    # The images are rounded to 4 decimals in JSON: the probabilities agree to about that.
    np.testing.assert_allclose(probabilities, _probabilities(ws, bs, meta, images), atol=2e-3)
    assert body["steps"] >= 1 and body["seconds"] >= 0 and body["cached"] is False


def test_the_second_answer_comes_from_the_cache(client: TestClient) -> None:
    registry = client.app.state.services.models
    before = registry.dreams_computed
    first = client.get("/api/models/3b1b/dreams").json()
    second = client.get("/api/models/3b1b/dreams").json()
    assert registry.dreams_computed == before + 1
    assert second["cached"] is True and first["cached"] is False
    assert second["images"] == first["images"]
    assert second["probabilities"] == first["probabilities"]
    assert second["seconds"] == first["seconds"]  # how long the one computation took


def test_a_deleted_model_takes_its_dreams_with_it(client: TestClient) -> None:
    data = model_to_bytes(Network([784, 8, 10], seed=5), {})
    model_id = client.post("/api/models", files={"file": ("m.npz", data)}).json()["id"]
    assert client.get(f"/api/models/{model_id}/dreams").status_code == 200
    assert client.delete(f"/api/models/{model_id}").status_code == 204
    r = client.get(f"/api/models/{model_id}/dreams")
    assert r.status_code == 404 and model_id in r.json()["detail"]


def test_unknown_and_malformed_ids(client: TestClient) -> None:
    r = client.get("/api/models/m_00000000/dreams")
    assert r.status_code == 404 and "m_00000000" in r.json()["detail"]
    r = client.get("/api/models/-bad/dreams")
    assert r.status_code == 422 and isinstance(r.json()["detail"], list)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflow warnings
def test_an_overflowing_model_answers_409(client: TestClient) -> None:
    hidden = np.full((16, 784), 3e38, np.float32)
    out = (np.random.default_rng(0).choice([-1.0, 1.0], (10, 16)) * 3e38).astype(np.float32)
    network = Network.from_parameters(
        [hidden, out], [np.zeros(16, np.float32), np.zeros(10, np.float32)], "relu", "cross_entropy"
    )
    r = client.post("/api/models", files={"file": ("huge.npz", model_to_bytes(network, {}))})
    assert r.status_code == 201, r.text
    r = client.get(f"/api/models/{r.json()['id']}/dreams")
    assert r.status_code == 409, r.text
    assert "NaN or Infinity" in r.json()["detail"]


def test_the_schema_describes_the_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/models/{model_id}/dreams"]["get"]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/DreamsResponse")
    assert {"404", "409", "422"} <= set(op["responses"])
    props = spec["components"]["schemas"]["DreamsResponse"]["properties"]
    assert {"model", "digits", "images", "probabilities", "steps", "seconds"} <= set(props)

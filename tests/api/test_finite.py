"""No JSON answer holds NaN or Infinity: a model whose arithmetic overflows gets a 409."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.nn.network import Network
from app.nn.serialize import model_to_bytes

from .api_support import b64, digit_png


def _strict_json(text: str) -> object:
    """json.loads that refuses NaN / Infinity, as any JSON parser but Python's does."""

    def refuse(name: str) -> object:
        raise AssertionError(f"the answer holds {name}: {text[:200]}")

    return json.loads(text, parse_constant=refuse)


def _overflowing_model() -> bytes:
    """Finite float32 weights so large that z overflows to inf, and the outputs to NaN."""
    rng = np.random.default_rng(0)
    hidden = np.full((16, 784), 3e38, np.float32)
    out = (rng.choice([-1.0, 1.0], (10, 16)) * 3e38).astype(np.float32)
    network = Network.from_parameters(
        [hidden, out], [np.zeros(16, np.float32), np.zeros(10, np.float32)], "relu", "cross_entropy"
    )
    return model_to_bytes(network, {})


@pytest.fixture
def huge_model(client: TestClient) -> str:
    r = client.post("/api/models", files={"file": ("huge.npz", _overflowing_model())})
    assert r.status_code == 201, r.text  # every weight is finite: the upload is valid
    return r.json()["id"]


DRAWING = {"image": b64(digit_png())}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflow warnings
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/predict", DRAWING),
        ("/api/predict", {**DRAWING, "include": ["activations", "zs"]}),
        ("/api/explain", DRAWING),
        ("/api/explain/step", DRAWING),
    ],
)
def test_an_overflowing_model_answers_409_not_nan(
    client: TestClient, huge_model: str, path: str, body: dict
) -> None:
    r = client.post(path, json={**body, "model": huge_model})
    assert r.status_code == 409, r.text
    detail = _strict_json(r.text)["detail"]  # type: ignore[index]
    assert "NaN or Infinity" in detail


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_the_same_model_still_lists_and_serves_its_finite_weights(
    client: TestClient, huge_model: str
) -> None:
    assert client.get(f"/api/models/{huge_model}").status_code == 200
    r = client.get(f"/api/models/{huge_model}/network")
    assert r.status_code == 200
    net = _strict_json(r.text)
    assert net["weights"][0][0][0] == pytest.approx(3e38, rel=1e-6)  # type: ignore[index]
    # A sane model on the same server still answers.
    r = client.post("/api/predict", json={**DRAWING, "model": "accurate"})
    assert r.status_code == 200 and len(_strict_json(r.text)["probabilities"]) == 10  # type: ignore[index]

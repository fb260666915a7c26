"""/api/explain and /api/explain/step, checked against NumPy on the downloaded .npz.

The reference below is written here from the .npz alone: it does not import app.nn.
"""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from .api_support import b64, digit_png, npz_arrays


def _cost(forward, ws, bs, meta, x, label) -> tuple[float, list, list]:
    zs, acts = forward(ws, bs, meta["activation"], meta["cost"], x)
    a = acts[-1]
    y = np.eye(len(a))[label]
    c = 0.5 * np.sum((a - y) ** 2) if meta["cost"] == "quadratic" else -np.log(a[label])
    return float(c), zs, acts


def _pixels() -> list[float]:
    img = np.zeros((28, 28))
    img[5:23, 12:16] = 1.0
    img[6:9, 9:12] = 0.6
    return img.reshape(-1).round(3).tolist()


@pytest.mark.parametrize("model", ["3b1b", "accurate"])
def test_explain_matches_numpy_and_finite_differences(
    client: TestClient, model: str, reference_forward
) -> None:
    ws, bs, meta = npz_arrays(client, model)
    x = np.array(_pixels())
    label = 3
    r = client.post(
        "/api/explain",
        json={
            "pixels": _pixels(),
            "model": model,
            "label": label,
            "grad_weights": [{"layer": 0, "neurons": [0, 5]}],
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    cost, zs, acts = _cost(reference_forward, ws, bs, meta, x, label)
    assert body["label"] == label and body["count"] == 1
    assert body["cost"] == pytest.approx(cost, rel=1e-4)
    assert sum(body["cost_terms"]) == pytest.approx(cost, rel=1e-4)
    for got, want in zip(body["zs"], zs, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    for got, want in zip(body["activations"], acts, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # Gradients: analytic backprop here, and finite differences (float64) on a few entries.
    last = len(ws) - 1
    y = np.eye(len(acts[-1]))[label]
    if meta["cost"] == "quadratic":
        delta = (acts[-1] - y) * acts[-1] * (1 - acts[-1])
    else:
        delta = acts[-1] - y
    for k in range(last, -1, -1):
        np.testing.assert_allclose(body["grad_biases"][k], delta, rtol=1e-3, atol=1e-6)
        if k > 0:
            grad_a = delta @ ws[k]
            np.testing.assert_allclose(
                body["grad_activations"][k - 1], grad_a, rtol=1e-3, atol=1e-6
            )
            d = (
                acts[k - 1] * (1 - acts[k - 1])
                if meta["activation"] == "sigmoid"
                else (acts[k - 1] > 0)
            )
            delta = grad_a * d
    rows = body["grad_weights"][0]
    assert rows["neurons"] == [0, 5]
    np.testing.assert_allclose(rows["values"], np.outer(delta, x)[[0, 5]], rtol=1e-3, atol=1e-6)
    h = 1e-6
    for k in range(len(bs)):
        i = int(np.argmax(np.abs(body["grad_biases"][k])))
        bp, bm = [b.copy() for b in bs], [b.copy() for b in bs]
        bp[k][i] += h
        bm[k][i] -= h
        fd = (
            _cost(reference_forward, ws, bp, meta, x, label)[0]
            - _cost(reference_forward, ws, bm, meta, x, label)[0]
        ) / (2 * h)
        assert body["grad_biases"][k][i] == pytest.approx(fd, rel=1e-3, abs=1e-7)
    j = int(np.argmax(x))
    wp, wm = [w.copy() for w in ws], [w.copy() for w in ws]
    wp[0][5, j] += h
    wm[0][5, j] -= h
    fd = (
        _cost(reference_forward, wp, bs, meta, x, label)[0]
        - _cost(reference_forward, wm, bs, meta, x, label)[0]
    ) / (2 * h)
    assert rows["values"][1][j] == pytest.approx(fd, rel=1e-3, abs=1e-7)


def test_explain_image_default_label_and_limits(client: TestClient) -> None:
    r = client.post("/api/explain", json={"image": b64(digit_png()), "model": "3b1b"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["label"] == body["digit"] == int(np.argmax(body["probabilities"]))
    assert body["model"] == "3b1b" and body["cost_function"] == "quadratic"
    # 3b1b's first layer has 12,544 weights: full ∂C/∂W allowed; accurate's 25,088 is not.
    full = client.post(
        "/api/explain", json={"pixels": _pixels(), "model": "3b1b", "grad_weights": [{"layer": 0}]}
    )
    assert full.status_code == 200
    assert np.shape(full.json()["grad_weights"][0]["values"]) == (16, 784)
    big = client.post(
        "/api/explain",
        json={"pixels": _pixels(), "model": "accurate", "grad_weights": [{"layer": 0}]},
    )
    assert big.status_code == 422 and "20000" in big.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"image": b64(digit_png(blank=True))}, 422),
        ({"pixels": [0.0] * 784}, 422),
        ({"pixels": [0.5] * 784, "model": "nope"}, 404),
        ({"pixels": [0.5] * 784, "label": 10}, 422),
        ({"pixels": [0.5] * 784, "label": "3"}, 422),
        ({"pixels": [0.5] * 784, "grad_weights": [{"layer": 7}]}, 422),
        ({"pixels": [0.5] * 784, "grad_weights": [{"layer": 0, "neurons": [99]}]}, 422),
        ({"image": "!!!"}, 422),
        ({}, 422),
        ({"pixels": [0.5] * 784, "extra": 1}, 422),
    ],
)
def test_explain_bad_input(client: TestClient, payload: dict, status: int) -> None:
    r = client.post("/api/explain", json=payload)
    assert r.status_code == status, r.text
    assert "detail" in r.json()


def test_explain_batch_averages(client: TestClient) -> None:
    r = client.post(
        "/api/explain", json={"batch": {"source": "train", "size": 8, "seed": 1}, "model": "3b1b"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 8 and body["digit"] is None
    again = client.post(
        "/api/explain", json={"batch": {"source": "train", "size": 8, "seed": 1}, "model": "3b1b"}
    )
    assert again.json()["cost"] == body["cost"]
    assert sum(body["cost_terms"]) == pytest.approx(body["cost"], rel=1e-4)


def test_step_lowers_cost_and_leaves_stored_model(client: TestClient, reference_forward) -> None:
    before = client.get("/api/models/3b1b/weights").content
    r = client.post(
        "/api/explain/step",
        json={"pixels": _pixels(), "model": "3b1b", "label": 3, "learning_rate": 1, "steps": 3},
    )
    assert r.status_code == 200, r.text
    costs = [s["cost"] for s in r.json()["states"]]
    assert len(costs) == 4
    assert costs[0] > costs[1] > costs[2] > costs[3]
    assert client.get("/api/models/3b1b/weights").content == before
    ws, bs, meta = npz_arrays(client, "3b1b")
    assert costs[0] == pytest.approx(
        _cost(reference_forward, ws, bs, meta, np.array(_pixels()), 3)[0], rel=1e-4
    )
    assert (
        client.post("/api/explain/step", json={"pixels": _pixels(), "learning_rate": 0}).status_code
        == 422
    )
    assert (
        client.post("/api/explain/step", json={"pixels": _pixels(), "steps": 51}).status_code == 422
    )

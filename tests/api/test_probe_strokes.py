"""A run's probe reads a drawing through the run's input transform (issue 17 §5): a run with
`strokes` probes a marker-thick 0 stroke-normalised, as the model it saves will read it."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient

from app.data.deslant import model_input
from app.nn.serialize import model_from_bytes

from .api_support import SHORT_RUN


def thick_zero() -> np.ndarray:
    """A ring 6 px wide in MNIST's 20 px box: a small 0 drawn with a marker."""
    rows, cols = np.indices((28, 28)) + 0.5
    distance = np.hypot(rows - 14.0, cols - 14.0)
    return (np.abs(distance - 7.0) <= 3.0).astype(np.float32).reshape(784)


def test_the_probe_of_a_strokes_run_reads_stroke_normalised_input(client: TestClient) -> None:
    config = {**SHORT_RUN, "epochs": 1, "train_subset": 2000, "strokes": True}
    run_id = client.post("/api/runs", json=config).json()["id"]
    pixels = thick_zero()
    with client.websocket_connect(f"/api/runs/{run_id}/events") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        while not ((m := ws.receive_json())["type"] == "status" and m["status"] == "finished"):
            pass
        ws.send_json({"type": "probe", "pixels": pixels.tolist()})  # from the final weights
        while (probe := ws.receive_json())["type"] != "probe":
            pass
    saved = client.post(f"/api/runs/{run_id}/save", json={"name": "strokes run"})
    assert saved.status_code == 201, saved.text
    assert saved.json()["strokes"] is True
    model = client.get(f"/api/models/{saved.json()['id']}/weights")
    assert model.status_code == 200, model.text
    network, _ = model_from_bytes(model.content)
    normalised = model_input(pixels, False, True)
    assert not np.allclose(normalised, pixels)  # the transform does change this drawing
    expected = network.predict_proba(normalised.reshape(1, 784))[0]
    assert np.allclose(probe["probabilities"], expected, atol=1e-5)
    raw = network.predict_proba(pixels.reshape(1, 784))[0]
    assert not np.allclose(probe["probabilities"], raw, atol=1e-5)

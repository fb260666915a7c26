"""WebSocket /api/runs/{id}/events over the ASGI test client: a short real training run."""

from __future__ import annotations

import json

import numpy as np
from fastapi.testclient import TestClient

from .api_support import LONG_RUN, SHORT_RUN, b64, digit_png


def test_live_training_stream(client: TestClient) -> None:
    # Long enough (a few seconds) that the watcher surely joins before the end.
    run_id = client.post("/api/runs", json={**SHORT_RUN, "epochs": 3, "train_subset": 5000})
    run_id = run_id.json()["id"]
    got: dict[str, list[dict]] = {}
    with client.websocket_connect(f"/api/runs/{run_id}/events") as ws:
        snapshot = ws.receive_json()
        assert snapshot["type"] == "snapshot" and snapshot["run"]["id"] == run_id
        assert set(snapshot["run"]["history"]) == {"metrics", "evaluations"}
        pixels = np.zeros(784)
        pixels[300:340] = 1.0
        ws.send_json({"type": "probe", "pixels": pixels.tolist()})
        ws.send_json({"type": "network", "maps": True})
        # Bad client messages get an error each, and the stream goes on.
        ws.send_text("not json")
        ws.send_json({"type": "dance"})
        ws.send_json({"type": "probe", "pixels": [5] * 784})
        ws.send_json({"type": "probe", "image": "!!"})
        ws.send_json(["a list"])
        ws.send_bytes(b"\x00")
        while True:
            message = ws.receive_json()
            got.setdefault(message["type"], []).append(message)
            if message["type"] == "status" and message["status"] == "finished":
                break
        # An image probe after the end still answers, from the final weights.
        ws.send_json({"type": "probe", "image": b64(digit_png())})
        while (message := ws.receive_json())["type"] != "probe":
            pass
        assert len(message["probabilities"]) == 10
    assert len(got["error"]) == 6 and all(e["detail"] for e in got["error"])
    # Nothing lost, nothing twice: the snapshot plus every message's points is the history.
    final = client.get(f"/api/runs/{run_id}").json()["history"]["metrics"]
    streamed = snapshot["run"]["history"]["metrics"]["step"] + [
        s for m in got["metrics"] for s in m["points"]["step"]
    ]
    assert streamed == final["step"]
    # (The run may have started before the watcher joined: its snapshot holds the start.)
    history = snapshot["run"]["history"]
    costs = history["metrics"]["cost"] + [c for m in got["metrics"] for c in m["points"]["cost"]]
    assert np.mean(costs[-3:]) < np.mean(costs[:3])
    last = got["metrics"][-1]
    assert last["progress"]["fraction"] == 1.0 and last["samples_per_second"] > 0
    evaluations = history["evaluations"] + got.get("evaluation", [])
    assert [e["epoch"] for e in evaluations] == [1, 2, 3]
    assert evaluations[-1]["test_accuracy"] > 0.5
    assert "running" in [s["status"] for s in got["status"]]
    probe = got["probe"][-1]
    assert [len(a) for a in probe["activations"]] == [16, 16, 10]
    assert abs(sum(probe["probabilities"]) - 1) < 1e-5 and 0 <= probe["digit"] <= 9
    network = got["network"][-1]
    assert len(network["layers"]) == 3 and network["layers"][0]["grad_norm"] is not None
    assert np.array(network["maps"]).shape == (16, 784)


def test_network_without_maps_and_stopping_a_probe(client: TestClient) -> None:
    # A long run, stopped by the test once it has seen a network message: a short one may end
    # before its first network message on a busy machine.
    run_id = client.post("/api/runs", json=LONG_RUN).json()["id"]
    with client.websocket_connect(f"/api/runs/{run_id}/events") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        ws.send_json({"type": "probe", "pixels": [0.5] * 784})
        ws.send_json({"type": "probe", "pixels": None})  # stops probing
        ws.send_json({"type": "network", "maps": False})
        kinds = []
        while True:
            message = ws.receive_json()
            kinds.append(message["type"])
            if message["type"] == "network" and kinds.count("network") == 1:
                assert message["maps"] is None
                ws.send_json({"type": "network", "enabled": False})
                client.post(f"/api/runs/{run_id}/stop")
            if message["type"] == "status" and message["status"] in ("stopped", "finished"):
                break
    assert kinds.count("probe") <= 1  # at most the immediate answer to the first probe
    assert "network" in kinds


def test_unknown_run_gets_an_error_and_a_close(client: TestClient) -> None:
    with client.websocket_connect("/api/runs/r_00000000/events") as ws:
        message = json.loads(ws.receive_text())
        assert message["type"] == "error" and "r_00000000" in message["detail"]
        closing = ws.receive()
        assert closing["type"] == "websocket.close" and closing["code"] == 4404

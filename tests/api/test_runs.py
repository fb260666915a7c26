"""/api/runs: creation and validation, the status machine, control, save, delete, digits."""

from __future__ import annotations

import time

import numpy as np
from fastapi.testclient import TestClient

from app.settings import Settings

from .api_support import LONG_RUN, SHORT_RUN, wait_for


def finished(client: TestClient, run_id: str) -> dict:
    def done():
        info = client.get(f"/api/runs/{run_id}").json()
        return info if info["status"] not in ("queued", "downloading", "running") else None

    return wait_for(done, timeout=60)


def running(client: TestClient, run_id: str) -> dict:
    return wait_for(
        lambda: (
            (info := client.get(f"/api/runs/{run_id}").json())["status"] == "running"
            and info["history"]["metrics"]["step"]
            and info
        ),
        timeout=60,
    )


def test_short_run_trains_and_keeps_its_history(client: TestClient) -> None:
    r = client.post("/api/runs", json=SHORT_RUN)
    assert r.status_code == 201
    created = r.json()
    assert created["status"] in ("queued", "downloading", "running")
    assert created["config"]["epochs"] == 2 and created["config"]["layers"] == [16, 16]
    assert created["config"]["preset"] == "3b1b"
    assert created["config"]["learning_rate"] == 0.005  # explicit field overrides the preset
    assert (
        created["config"]["activation"] == "relu" and created["config"]["lr_schedule"] == "cosine"
    )
    info = finished(client, created["id"])
    assert info["status"] == "finished" and info["reason"] is None
    metrics = info["history"]["metrics"]
    n = len(metrics["step"])
    assert n >= 4 and all(len(metrics[k]) == n for k in ("epoch", "cost", "accuracy"))
    assert metrics["step"] == sorted(metrics["step"])
    assert np.mean(metrics["cost"][-3:]) < np.mean(metrics["cost"][:3])  # it learned
    evaluations = info["history"]["evaluations"]
    assert [e["epoch"] for e in evaluations] == [1, 2]
    assert np.sum(evaluations[-1]["confusion"]) == 10_000
    assert len(evaluations[-1]["mistakes"]) == 24
    assert info["progress"]["fraction"] == 1.0 and info["progress"]["total_samples"] == 4000
    assert info["latest"]["samples_per_second"] > 0
    assert info["started"] and info["finished"]
    listed = client.get("/api/runs").json()["runs"]
    assert [run["id"] for run in listed] == [created["id"]] and "history" not in listed[0]
    # Digits from the last evaluation: the most confident mistakes, or filtered.
    digits = client.get(f"/api/runs/{created['id']}/digits", params={"limit": 5}).json()["digits"]
    assert len(digits) == 5 and all(d["label"] != d["predicted"] for d in digits)
    assert [d["confidence"] for d in digits] == sorted(
        (d["confidence"] for d in digits), reverse=True
    )
    assert len(digits[0]["pixels"]) == 784
    threes = client.get(f"/api/runs/{created['id']}/digits?label=3&predicted=3&limit=3").json()
    assert all(d["label"] == d["predicted"] == 3 for d in threes["digits"])
    assert client.get(f"/api/runs/{created['id']}/digits?label=10").status_code == 422
    # Its weights: the network JSON and a saved model that predicts.
    network = client.get(f"/api/runs/{created['id']}/network").json()
    assert network["sizes"] == [784, 16, 16, 10]
    r = client.post(f"/api/runs/{created['id']}/save", json={"name": "first run"})
    assert r.status_code == 201
    model = r.json()
    assert model["name"] == "first run" and model["source_run"] == created["id"]
    assert model["test_accuracy"] == evaluations[-1]["test_accuracy"]
    assert client.get(f"/api/runs/{created['id']}").json()["model_id"] == model["id"]
    pred = client.post("/api/predict", json={"pixels": digits[0]["pixels"], "model": model["id"]})
    assert pred.json()["digit"] == digits[0]["predicted"]
    # Ended runs refuse control.
    for action in ("pause", "resume", "step", "stop"):
        r = client.post(f"/api/runs/{created['id']}/{action}")
        assert r.status_code == 409 and r.json()["detail"], action
    assert (
        client.patch(f"/api/runs/{created['id']}", json={"learning_rate": 0.1}).status_code == 409
    )
    # Delete: gone, and its saved model stays.
    assert client.delete(f"/api/runs/{created['id']}").status_code == 204
    assert client.get(f"/api/runs/{created['id']}").status_code == 404
    assert client.get(f"/api/models/{model['id']}").status_code == 200


def test_invalid_configs_are_422_naming_the_field(client: TestClient) -> None:
    cases = {
        "epochs": {"epochs": 0},
        "layers": {"layers": [1024] * 6},  # too many parameters
        "learning_rate": {"learning_rate": -1},
        "batch_size": {"batch_size": 0},
        "activation": {"activation": "swish"},
        "preset": {"preset": "nope"},
        "train_subset": {"train_subset": 0},
        "optimizer": {"optimizer": "lbfgs"},
    }
    for field, body in cases.items():
        r = client.post("/api/runs", json=body)
        assert r.status_code == 422, body
        assert field in str(r.json()["detail"]), (body, r.json())
    raw = [b'{"learning_rate": NaN}', b'{"learning_rate": Infinity}', b'{"bogus": 1}', b"nope"]
    for body in raw:
        r = client.post("/api/runs", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422, body
    r = client.post("/api/runs", json={"layers": "16,16"})
    assert r.status_code == 422
    assert client.get("/api/runs").json()["runs"] == []  # nothing was created


def test_too_many_runs_is_429(make_client, settings: Settings) -> None:
    client = make_client(settings.model_copy(update={"max_runs": 1, "max_queued": 0}))
    first = client.post("/api/runs", json=LONG_RUN).json()
    r = client.post("/api/runs", json=SHORT_RUN)
    assert r.status_code == 429 and "limit" in r.json()["detail"]
    assert len(client.get("/api/runs").json()["runs"]) == 1
    assert client.post(f"/api/runs/{first['id']}/stop").json()["status"] == "stopped"
    assert client.post("/api/runs", json=SHORT_RUN).status_code == 201  # the slot is free


def test_pause_step_resume_stop(client: TestClient) -> None:
    run_id = client.post("/api/runs", json=LONG_RUN).json()["id"]
    running(client, run_id)
    assert client.post(f"/api/runs/{run_id}/resume").status_code == 409  # not paused
    assert client.post(f"/api/runs/{run_id}/step").status_code == 409
    r = client.post(f"/api/runs/{run_id}/pause")
    assert r.status_code == 200 and r.json()["status"] == "paused"
    assert client.post(f"/api/runs/{run_id}/pause").status_code == 409
    # A paused run stands still; each step trains exactly one mini-batch and reports it.
    step = wait_for(
        lambda: (
            (
                (s := client.get(f"/api/runs/{run_id}").json()["progress"]["step"])
                == client.get(f"/api/runs/{run_id}").json()["progress"]["step"]
            )
            and s
        )
    )
    r = client.post(f"/api/runs/{run_id}/step")
    assert r.status_code == 200 and r.json()["status"] == "paused"
    wait_for(lambda: client.get(f"/api/runs/{run_id}").json()["progress"]["step"] == step + 1)
    r = client.patch(f"/api/runs/{run_id}", json={"learning_rate": 0.02})
    assert r.status_code == 200 and r.json()["config"]["learning_rate"] == 0.02
    for bad in ({"learning_rate": 0}, {"learning_rate": -1}, {"learning_rate": 1e11}, {}):
        assert client.patch(f"/api/runs/{run_id}", json=bad).status_code == 422, bad
    assert client.post(f"/api/runs/{run_id}/resume").json()["status"] == "running"
    wait_for(lambda: client.get(f"/api/runs/{run_id}").json()["latest"]["learning_rate"] == 0.02)
    r = client.post(f"/api/runs/{run_id}/stop")
    assert r.status_code == 200 and r.json()["status"] == "stopped", r.json().get("reason")
    info = client.get(f"/api/runs/{run_id}").json()
    assert info["status"] == "stopped" and info["finished"]
    # Its weights stay usable after the stop.
    wait_for(lambda: client.get(f"/api/runs/{run_id}/network").status_code == 200)


def test_unknown_runs_are_404_and_bad_ids_422(client: TestClient) -> None:
    for method, path in [
        ("get", "/api/runs/r_00000000"),
        ("post", "/api/runs/r_00000000/pause"),
        ("post", "/api/runs/r_00000000/resume"),
        ("post", "/api/runs/r_00000000/step"),
        ("post", "/api/runs/r_00000000/stop"),
        ("post", "/api/runs/r_00000000/save"),
        ("get", "/api/runs/r_00000000/network"),
        ("get", "/api/runs/r_00000000/digits"),
        ("delete", "/api/runs/r_00000000"),
    ]:
        r = client.request(method, path)
        assert r.status_code == 404 and "r_00000000" in r.json()["detail"], path
    assert client.patch("/api/runs/r_00000000", json={"learning_rate": 0.1}).status_code == 404
    assert client.get("/api/runs/bad.id").status_code == 422


def test_a_run_without_mnist_fails_with_a_reason(make_client, settings: Settings, tmp_path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    client = make_client(settings.model_copy(update={"mnist_dir": empty}))
    run_id = client.post("/api/runs", json=SHORT_RUN).json()["id"]
    info = wait_for(
        lambda: (i := client.get(f"/api/runs/{run_id}").json())["status"] == "failed" and i
    )
    assert "MNIST" in info["reason"]
    assert client.post(f"/api/runs/{run_id}/save").status_code == 409
    assert client.get(f"/api/runs/{run_id}/network").status_code == 409
    assert client.get(f"/api/runs/{run_id}/digits").json() == {"digits": []}
    r = client.get("/api/digits/random")
    assert r.status_code == 503 and "MNIST" in r.json()["detail"]


def test_deleting_a_live_run_stops_it_and_leaves_nothing(
    client: TestClient, settings: Settings
) -> None:
    run_id = client.post("/api/runs", json=LONG_RUN).json()["id"]
    running(client, run_id)
    run = client.app.state.services.runs.get(run_id)
    assert client.delete(f"/api/runs/{run_id}").status_code == 204
    assert run.handle.join(10)
    assert not run.handle.alive()  # the worker process ended
    assert client.get("/api/runs").json()["runs"] == []
    assert not (settings.data_dir / "runs" / f"{run_id}.npz").exists()
    assert client.get("/healthz").json()["live_runs"] == 0


def test_wrong_types_are_422_not_coerced(client: TestClient) -> None:
    for bad in (
        {"layers": ["16"]},
        {"layers": [True]},
        {"layers": [16.0]},
        {"augment": "yes"},
        {"augment": 1},
        {"epochs": True},
        {"epochs": "3"},
        {"learning_rate": "0.1"},
        {"learning_rate": True},
    ):
        r = client.post("/api/runs", json={**SHORT_RUN, **bad})
        assert r.status_code == 422, bad
        field = next(iter(bad))
        assert any(field in e["loc"] for e in r.json()["detail"]), (bad, r.json())
    assert client.get("/api/runs").json()["runs"] == []


def test_an_integer_learning_rate_is_a_valid_float(client: TestClient) -> None:
    r = client.post("/api/runs", json={**LONG_RUN, "learning_rate": 1})
    assert r.status_code == 201 and r.json()["config"]["learning_rate"] == 1.0
    run_id = r.json()["id"]
    assert client.patch(f"/api/runs/{run_id}", json={"learning_rate": 2}).status_code == 200
    client.delete(f"/api/runs/{run_id}")


def test_learning_rate_limit_is_the_same_on_creation_and_patch(client: TestClient) -> None:
    # One bound, 0 < rate <= 1e10, for both (1e10 still lets a run diverge on purpose).
    assert client.post("/api/runs", json={**LONG_RUN, "learning_rate": 1e308}).status_code == 422
    assert client.post("/api/runs", json={**LONG_RUN, "learning_rate": 1.1e10}).status_code == 422
    r = client.post("/api/runs", json={**LONG_RUN, "learning_rate": 1e10})
    assert r.status_code == 201
    client.delete(f"/api/runs/{r.json()['id']}")
    # A sane rate for the PATCH part: a 1e10 run may diverge (and end) before the PATCH.
    run_id = client.post("/api/runs", json={**LONG_RUN, "learning_rate": 0.1}).json()["id"]
    client.post(f"/api/runs/{run_id}/pause")
    assert client.patch(f"/api/runs/{run_id}", json={"learning_rate": 1.1e10}).status_code == 422
    assert client.patch(f"/api/runs/{run_id}", json={"learning_rate": 1e10}).status_code == 200
    client.delete(f"/api/runs/{run_id}")


def test_non_finite_weights_are_409_for_network_and_save(client: TestClient, monkeypatch) -> None:
    r = client.post("/api/runs", json=SHORT_RUN)
    run_id = r.json()["id"]
    finished(client, run_id)
    runs = client.app.state.services.runs
    poisoned = runs.network(run_id)
    poisoned.weights[0][0, 0] = np.inf
    # Stand-in for a run whose weights went non-finite (the trainer keeps finite ones today).
    monkeypatch.setattr(runs, "network", lambda _id: poisoned)
    for method, path in (("GET", "network"), ("POST", "save")):
        r = client.request(method, f"/api/runs/{run_id}/{path}")
        assert r.status_code == 409 and "NaN or infinite" in r.json()["detail"], r.text
    assert all(m["shipped"] for m in client.get("/api/models").json()["models"])


def test_a_big_runs_network_is_answered_downsampled(client: TestClient) -> None:
    # 784·512 + 512·10 = 406,528 weights: above the 300,000 answered in full.
    run_id = client.post("/api/runs", json={**LONG_RUN, "layers": [512]}).json()["id"]
    r = wait_for(
        lambda: (resp := client.get(f"/api/runs/{run_id}/network")).status_code == 200 and resp
    )
    net = r.json()
    assert net["downsampled"] is True and net["kept_per_layer"] == 2000
    assert [len(w) for w in net["weights"]] == [512, 10]
    assert sum(v != 0 for row in net["weights"][0] for v in row) == 2000
    assert len(r.content) < 1_500_000  # ~2 bytes per dropped weight, not ~20 per weight
    client.delete(f"/api/runs/{run_id}")


def test_a_run_waits_in_the_queue_for_a_slot(make_client, settings: Settings) -> None:
    client = make_client(settings.model_copy(update={"max_runs": 1, "max_queued": 1}))
    first = client.post("/api/runs", json=LONG_RUN).json()
    r = client.post("/api/runs", json=SHORT_RUN)
    assert r.status_code == 201
    waiting = r.json()
    assert waiting["status"] == "queued" and waiting["queue_position"] == 1
    r = client.post("/api/runs", json=SHORT_RUN)  # one training, one waiting: the limit
    assert r.status_code == 429 and "limit" in r.json()["detail"]
    running(client, first["id"])
    assert client.get(f"/api/runs/{waiting['id']}").json()["queue_position"] == 1
    with client.websocket_connect(f"/api/runs/{waiting['id']}/events") as ws:
        snapshot = ws.receive_json()
        assert snapshot["run"]["status"] == "queued" and snapshot["run"]["queue_position"] == 1
        client.post(f"/api/runs/{first['id']}/stop")  # frees the slot: the queued run starts
        statuses = []
        while not statuses or statuses[-1]["status"] != "finished":
            message = ws.receive_json()
            if message["type"] == "status":
                statuses.append(message)
    assert statuses[0]["queue_position"] is None  # told it left the queue
    assert "running" in [s["status"] for s in statuses]
    assert client.get(f"/api/runs/{waiting['id']}").json()["queue_position"] is None


def test_slow_motion_speed_is_a_command_of_the_run(client: TestClient) -> None:
    run_id = client.post("/api/runs", json=LONG_RUN).json()["id"]
    running(client, run_id)
    r = client.post(f"/api/runs/{run_id}/speed", json={"batches_per_second": 5})
    assert r.status_code == 200 and r.json()["speed"] == 5

    # In slow motion every mini-batch is reported as it is done (the 3b1b preset reports every
    # 25 at full speed): the history soon ends in consecutive steps.
    def tail() -> list[int]:
        return client.get(f"/api/runs/{run_id}").json()["history"]["metrics"]["step"][-4:]

    wait_for(lambda: (steps := tail()) == list(range(steps[0], steps[0] + 4)))
    # ...and at most 5 a second (a busy machine can only make it slower).
    t0, s0 = time.monotonic(), tail()[-1]
    wait_for(lambda: time.monotonic() - t0 >= 1.0)
    t1, s1 = time.monotonic(), tail()[-1]
    assert (s1 - s0) / (t1 - t0) <= 5 * 1.2
    for bad in ({"batches_per_second": 0}, {"batches_per_second": -1},
                {"batches_per_second": 1e9}, {"batches_per_second": "fast"}, {}):  # fmt: skip
        assert client.post(f"/api/runs/{run_id}/speed", json=bad).status_code == 422, bad
    r = client.post(f"/api/runs/{run_id}/speed", json={"batches_per_second": None})
    assert r.status_code == 200 and r.json()["speed"] is None
    client.post(f"/api/runs/{run_id}/stop")
    r = client.post(f"/api/runs/{run_id}/speed", json={"batches_per_second": 1})
    assert r.status_code == 409 and r.json()["detail"]
    r = client.post("/api/runs/r_00000000/speed", json={"batches_per_second": 1})
    assert r.status_code == 404


def test_the_list_carries_each_runs_best_test_accuracy(client: TestClient) -> None:
    run_id = client.post("/api/runs", json={**SHORT_RUN, "epochs": 2}).json()["id"]
    wait_for(lambda: client.get(f"/api/runs/{run_id}").json()["status"] == "finished", 120)
    detail = client.get(f"/api/runs/{run_id}").json()
    accuracies = [e["test_accuracy"] for e in detail["history"]["evaluations"]]
    assert len(accuracies) >= 2
    listed = next(r for r in client.get("/api/runs").json()["runs"] if r["id"] == run_id)
    assert listed["best_test_accuracy"] == max(accuracies)
    fresh = client.post("/api/runs", json=LONG_RUN).json()
    assert fresh["best_test_accuracy"] is None  # no evaluation yet
    client.delete(f"/api/runs/{fresh['id']}")


def test_watchers_hear_a_change_of_speed(client: TestClient) -> None:
    run_id = client.post("/api/runs", json=LONG_RUN).json()["id"]
    running(client, run_id)
    with client.websocket_connect(f"/api/runs/{run_id}/events") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        client.post(f"/api/runs/{run_id}/speed", json={"batches_per_second": 10})
        message = ws.receive_json()
        while message["type"] != "status":
            message = ws.receive_json()
        assert message["speed"] == 10 and message["status"] == "running"
    client.post(f"/api/runs/{run_id}/stop")

"""POST /api/runs/{id}/resume: a parked paused run, and a failed run, continue from their
checkpoints over HTTP (real worker processes, real MNIST)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.settings import Settings
from tests.api.api_support import wait_for

# 10 steps an epoch, 3 epochs; slowed down so it can be paused and killed mid-way.
RUN = {
    "optimizer": "sgd", "learning_rate": 0.5, "epochs": 3, "train_subset": 320,
    "batch_size": 32, "validation_size": 500, "layers": [16], "report_every": 1,
}  # fmt: skip


def _start(client: TestClient) -> str:
    run_id = client.post("/api/runs", json=RUN).json()["id"]
    assert client.post(f"/api/runs/{run_id}/speed", json={"batches_per_second": 40}).is_success
    return run_id


def _get(client: TestClient, run_id: str) -> dict:
    return client.get(f"/api/runs/{run_id}").json()


def test_a_parked_run_frees_its_slot_and_resumes(make_client, settings: Settings) -> None:
    client = make_client(settings.model_copy(update={"max_runs": 1, "paused_slot_seconds": 0.5}))
    run_id = _start(client)
    wait_for(lambda: _get(client, run_id)["progress"]["step"] >= 3)
    paused = client.post(f"/api/runs/{run_id}/pause").json()
    assert paused["status"] == "paused" and paused["parked"] is False
    wait_for(lambda: _get(client, run_id)["parked"], timeout=15)
    assert _get(client, run_id)["status"] == "paused"
    other = client.post("/api/runs", json={**RUN, "epochs": 100}).json()
    assert other["queue_position"] is None  # the parked run's slot was free
    assert client.post(f"/api/runs/{other['id']}/stop").json()["status"] == "stopped"
    resumed = client.post(f"/api/runs/{run_id}/resume")
    assert resumed.status_code == 200
    assert resumed.json()["status"] in ("queued", "running") and not resumed.json()["parked"]
    done = wait_for(lambda: (r := _get(client, run_id))["status"] == "finished" and r)
    assert done["progress"]["step"] == 30
    steps = done["history"]["metrics"]["step"]
    assert steps == sorted(set(steps))  # continued from the checkpoint: no step twice


def test_a_failed_run_resumes_and_an_ended_one_is_409(client: TestClient) -> None:
    run_id = _start(client)
    wait_for(lambda: _get(client, run_id)["history"]["evaluations"])  # checkpoint after epoch 1
    run = client.app.state.services.runs.get(run_id)
    run.handle.kill()
    failed = wait_for(lambda: (r := _get(client, run_id))["status"] == "failed" and r)
    assert "killed" in failed["reason"]
    r = client.post(f"/api/runs/{run_id}/resume")
    assert r.status_code == 200 and r.json()["status"] in ("queued", "running")
    done = wait_for(lambda: (r := _get(client, run_id))["status"] == "finished" and r)
    assert done["progress"]["step"] == 30 and len(done["history"]["evaluations"]) == 3
    r = client.post(f"/api/runs/{run_id}/resume")
    assert r.status_code == 409 and "finished" in r.json()["detail"]

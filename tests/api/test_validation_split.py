"""Issue 18, item 5: a run without a validation split (`validation_size: 0`) trains, with real
worker processes, and ends `finished` (it was accepted, then failed with "cannot reshape
array of size 0")."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .api_support import wait_for


def test_a_run_without_a_validation_split_finishes(client: TestClient) -> None:
    body = {"preset": "3b1b", "epochs": 1, "train_subset": 2000, "validation_size": 0}
    r = client.post("/api/runs", json=body)
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]

    def ended() -> dict | None:
        run = client.get(f"/api/runs/{run_id}").json()
        return run if run["status"] not in ("queued", "running", "paused") else None

    run = wait_for(ended, timeout=120)
    assert run["status"] == "finished", run.get("reason")
    (evaluation,) = run["history"]["evaluations"]
    assert evaluation["validation_accuracy"] is None
    assert 0.0 <= evaluation["test_accuracy"] <= 1.0

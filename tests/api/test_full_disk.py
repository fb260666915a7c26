"""Issue 18, item 2: a full disk, for real (the data directory on a 5 MB tmpfs; needs root, as
CI has). Every write the disk can't take is a 507 with a clear detail on a connection that
stays open; deletes work on the full disk; a run whose final weights can't be written ends
`failed` with that reason (in the API and in the database); the server starts on the full
disk and serves predictions."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx

from app.main import DB_NAME
from app.nn.network import Network
from app.nn.serialize import model_to_bytes
from tests.store.live import KeepAlive, Server, fill_disk, multipart, tmpfs, wait_for

RUN = {"preset": "3b1b", "epochs": 20, "train_subset": 2000, "validation_size": 500}
LIVE = ("queued", "running", "paused")


def model_file(seed: int) -> bytes:
    return model_to_bytes(Network([784, 128, 10], seed=seed), {})  # ~400 KB


def upload_until_full(conn: KeepAlive) -> list[str]:
    """Upload models on one keep-alive connection until the disk is full; their ids."""
    ids: list[str] = []
    for seed in range(40):
        body, headers = multipart(model_file(seed))
        status, content, _ = conn.request("POST", "/api/models", body, headers)
        if status == 507:
            assert "disk is full" in json.loads(content)["detail"], content
            return ids
        assert status == 201, (status, content)
        ids.append(json.loads(content)["id"])
    raise AssertionError("40 models of 400 KB fit on a 5 MB disk")


def run_status(url: str, run_id: str) -> dict[str, Any]:
    r = httpx.get(f"{url}/api/runs/{run_id}", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_full_disk_gives_507s_deletes_work_runs_end_failed_and_restart_works(
    tmp_path: Path, mnist_dir: Path
) -> None:
    with tmpfs(tmp_path / "disk", "5m") as disk, Server(disk / "data", mnist_dir) as server:
        url = server.url
        r = httpx.post(f"{url}/api/runs", json=RUN, timeout=10)
        assert r.status_code == 201, r.text
        run_id = r.json()["id"]
        wait_for(lambda: run_status(url, run_id)["status"] == "running")
        # Slow motion keeps it training while the disk fills.
        r = httpx.post(f"{url}/api/runs/{run_id}/speed", json={"batches_per_second": 5})
        assert r.status_code == 200, r.text

        conn = KeepAlive(server.port)
        uploaded = upload_until_full(conn)
        assert len(uploaded) >= 3
        fill_disk(disk)  # whatever room is left
        body, headers = multipart(model_file(99))
        status, content, _ = conn.request("POST", "/api/models", body, headers)
        assert status == 507, content
        status, content, _ = conn.request("GET", "/healthz")  # the same connection
        assert status == 200
        # No temporary or partial file is left behind.
        assert sorted(p.name for p in (disk / "data" / "models").iterdir()) == sorted(
            f"{i}.npz" for i in uploaded
        )

        created = httpx.post(f"{url}/api/runs", json=RUN, timeout=10)
        assert created.status_code in (201, 507), created.text
        if created.status_code == 507:
            assert "disk is full" in created.json()["detail"]
        # The training run ends: its final weights can't be written.
        assert httpx.post(f"{url}/api/runs/{run_id}/speed",
                          json={"batches_per_second": None}).status_code == 200  # fmt: skip
        ended = wait_for(lambda: (s := run_status(url, run_id))["status"] not in LIVE and s,
                         timeout=120)  # fmt: skip
        assert ended["status"] == "failed", ended["reason"]
        assert "final weights could not be written" in ended["reason"]

        # Deletes work on the full disk.
        assert httpx.delete(f"{url}/api/models/{uploaded[0]}").status_code == 204
        fill_disk(disk, "filler2")  # full again
        assert httpx.delete(f"{url}/api/models/{uploaded[1]}").status_code == 204
        fill_disk(disk, "filler3")

        server.stop()
        with sqlite3.connect(disk / "data" / DB_NAME) as db:
            (row,) = db.execute("SELECT status, reason FROM runs WHERE id = ?", (run_id,))
        assert row[0] == "failed" and "final weights" in row[1], server.output()

        server.start()  # on the full disk
        r = httpx.post(f"{url}/api/predict", json={"pixels": [0.5] * 784}, timeout=10)
        assert r.status_code == 200, r.text
        listed = {m["id"] for m in httpx.get(f"{url}/api/models", timeout=10).json()["models"]}
        assert set(uploaded[2:]) <= listed and not set(uploaded[:2]) & listed
        assert run_status(url, run_id)["status"] == "failed"
        assert httpx.delete(f"{url}/api/runs/{run_id}", timeout=10).status_code == 204
        assert httpx.delete(f"{url}/api/models/{uploaded[2]}", timeout=10).status_code == 204
        log = server.output()
        assert "Traceback" not in log, log  # every full-disk failure is one clear line

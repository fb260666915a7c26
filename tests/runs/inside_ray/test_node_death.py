"""Faults of the cluster itself: a node dies, then the whole cluster goes away."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx

from tests.runs.ray_cluster import ONE, raylets
from tests.runs.support import served, wait_for

LONG = {"epochs": 100, "validation_size": 500, "layers": [16]}


def info(url: str, run_id: str) -> dict:
    return httpx.get(f"{url}/api/runs/{run_id}").json()


def kill_processes(ending: tuple[str, ...]) -> None:
    """SIGKILL every process whose program path ends with one of `ending`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            program = (entry / "cmdline").read_bytes().split(b"\0")[0].decode()
        except (OSError, UnicodeDecodeError):
            continue
        if program.endswith(ending):
            os.kill(int(entry.name), signal.SIGKILL)


def test_a_dead_node_fails_its_run_and_a_lost_cluster_is_named(
    tmp_path: Path, mnist_dir: Path, ray_address: str, worker_node: str
) -> None:
    with served(tmp_path / "data", mnist_dir, ray_address) as (url, _):
        ids = [httpx.post(f"{url}/api/runs", json=LONG).json()["id"] for _ in range(2)]
        for run_id in ids:
            wait_for(lambda i=run_id: info(url, i)["history"]["metrics"]["step"], what="training")
        on_node = {info(url, i)["placement"]["node_id"]: i for i in ids}
        victim, survivor = on_node[worker_node], next(i for i in ids if i != on_node[worker_node])

        # The second node dies: its run fails and says so; the other run trains on.
        os.kill(int(raylets()[worker_node]["pid"]), signal.SIGKILL)
        failed = wait_for(
            lambda: (i := info(url, victim))["status"] == "failed" and i, timeout=60, what="failed"
        )
        assert "the Ray node it trained on died" in failed["reason"], failed["reason"]
        assert worker_node[:12] in failed["reason"]
        step = info(url, survivor)["progress"]["step"]
        wait_for(lambda: info(url, survivor)["progress"]["step"] > step, what="the survivor")
        assert info(url, survivor)["status"] == "running"
        assert httpx.post(f"{url}/api/predict", json=ONE).status_code == 200

        # The whole cluster goes away: the last run fails naming the address, new runs get an
        # error that names it, and predictions go on.
        kill_processes(("/gcs_server", "/raylet"))
        lost = wait_for(
            lambda: (i := info(url, survivor))["status"] == "failed" and i, timeout=90, what="lost"
        )
        assert ray_address in lost["reason"], lost["reason"]
        refused = httpx.post(f"{url}/api/runs", json=LONG, timeout=60)
        assert refused.status_code == 503, refused.text
        assert ray_address in refused.json()["detail"], refused.json()
        assert len(httpx.get(f"{url}/api/runs").json()["runs"]) == 2  # nothing was created
        for _ in range(20):
            assert httpx.post(f"{url}/api/predict", json=ONE).status_code == 200
        assert httpx.get(f"{url}/healthz").status_code == 200

"""Two runs on the two-node cluster: one on each node, trained by Ray's workers there, both
streaming to watchers through the server."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.runs.ray_cluster import ONE, raylets
from tests.runs.support import cpu_seconds, parent_of, served, wait_for

from .watch import Watcher

RUN = {"epochs": 2, "train_subset": 8000, "validation_size": 500, "layers": [16]}


def test_two_runs_train_on_both_nodes_and_stream_to_watchers(
    tmp_path: Path, mnist_dir: Path, ray_address: str
) -> None:
    with served(tmp_path / "data", mnist_dir, ray_address) as (url, server):
        ids = [httpx.post(f"{url}/api/runs", json=RUN).json()["id"] for _ in range(2)]
        for run_id in ids:  # slow motion until their workers are looked at: a run this short
            # could otherwise end, and its worker exit, before that (seen in CI)
            speed = httpx.post(f"{url}/api/runs/{run_id}/speed", json={"batches_per_second": 5})
            assert speed.status_code == 200, speed.text
        watchers = [Watcher(url, run_id) for run_id in ids]
        for watcher in watchers:
            watcher.start()
        placements = [
            wait_for(lambda i=i: httpx.get(f"{url}/api/runs/{i}").json()["placement"]) for i in ids
        ]
        # One run on each node, each in a Ray worker of that node (its raylet's child), not
        # in the server's processes.
        nodes = raylets()
        assert {p["executor"] for p in placements} == {"ray"}
        assert {p["node_id"] for p in placements} == set(nodes), (placements, nodes)
        cpu = {}
        for placement in placements:
            assert parent_of(placement["pid"]) == nodes[placement["node_id"]]["pid"]
            assert placement["pid"] != server.pid and parent_of(placement["pid"]) != server.pid
        for run_id in ids:  # fast from here, but not full speed: at full speed a run this
            # short can end inside one of the server's 50 ms metrics ticks, and its watcher then
            # gets every point in one message (seen in CI), which proves nothing about streaming
            httpx.post(f"{url}/api/runs/{run_id}/speed", json={"batches_per_second": 200})

        def trained() -> bool:
            for p in placements:  # the most CPU each worker was seen to have used
                cpu[p["pid"]] = max(cpu.get(p["pid"], 0.0), cpu_seconds(p["pid"]))
            return all(not w.is_alive() for w in watchers)

        wait_for(trained, timeout=180, what="both runs to end")
        assert all(seconds > 0.5 for seconds in cpu.values()), cpu  # they did the training
        for run_id, watcher in zip(ids, watchers, strict=True):
            assert watcher.error is None, watcher.error
            final = httpx.get(f"{url}/api/runs/{run_id}").json()
            assert final["status"] == "finished", final["reason"]
            assert final["best_test_accuracy"] > 0.3  # it learned (chance is 0.1)
            # Nothing lost or doubled on the way from the node to the watcher.
            assert watcher.steps() == final["history"]["metrics"]["step"]
            assert sum(m["type"] == "metrics" for m in watcher.messages) >= 2
            assert [e["epoch"] for e in final["history"]["evaluations"]] == [1, 2]
            assert watcher.lags and min(watcher.lags) >= 0  # emitted before it arrived
        # A finished run's weights came back from its node: it can be saved and predicts.
        saved = httpx.post(f"{url}/api/runs/{ids[0]}/save", json={"name": "from-ray"})
        assert saved.status_code == 201, saved.text
        model_id = saved.json()["id"]
        predict = httpx.post(f"{url}/api/predict", json={**ONE, "model": model_id})
        assert predict.status_code == 200, predict.text

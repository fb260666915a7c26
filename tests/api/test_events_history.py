"""A run's history is bounded, and connecting to a run with a long one does not stall the
server (review #16: `batch_size 1, report_every 1` made millions of points, and each
WebSocket connect serialised all of them on the event loop: seconds without any answer).
A real server; the long history is a stored run's, written to its database before it starts."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.main import DB_NAME
from app.store.db import Store, StoredRun

from .test_server import server

POINTS = 600_000  # serialised at once: 2–9 s without any answer (before the fix)
CHUNK = 50_000


# No permessage-deflate, as `nn-playground serve` runs (app/main.py).
WATCH = """
import json, sys
from websockets.sync.client import connect
with connect(sys.argv[1], max_size=None, open_timeout=30, compression=None) as ws:
    snapshot = json.loads(ws.recv(timeout=120))
print(json.dumps({"points": len(snapshot["run"]["history"]["metrics"]["step"])}))
"""


def store_long_run(data_dir: Path, run_id: str) -> None:
    data_dir.mkdir(parents=True)
    store = Store(data_dir / DB_NAME)
    config = {"epochs": 1, "batch_size": 1, "report_every": 1, "layers": [16, 16]}
    store.add_run(StoredRun(run_id, "finished", config, "2026-12-04T12:00:00Z"))
    store.update_run(run_id, status="finished", finished="2026-12-04T12:30:00Z")
    for start in range(0, POINTS, CHUNK):
        steps = list(range(start + 1, start + CHUNK + 1))
        store.append_points(
            run_id,
            start,
            {
                "step": steps,
                "epoch": [s / POINTS for s in steps],
                "cost": [1 / s for s in steps],
                "accuracy": [0.5] * CHUNK,
            },
        )
    store.close()


def test_healthz_answers_while_a_client_connects_to_a_run_with_a_huge_history(
    tmp_path: Path, mnist_dir: Path
) -> None:
    run_id = "r_0000long"
    store_long_run(tmp_path / "data", run_id)
    with server(tmp_path / "data", mnist_dir) as (url, _), httpx.Client(base_url=url) as http:
        uri = url.replace("http", "ws") + f"/api/runs/{run_id}/events"
        # The client in its own process: receiving 20 MB in this one would hold its GIL and
        # slow the /healthz loop below, which must time the server alone.
        client = subprocess.Popen(
            [sys.executable, "-c", WATCH, uri], stdout=subprocess.PIPE, text=True
        )
        slowest = 0.0
        while client.poll() is None:
            began = time.perf_counter()
            assert http.get("/healthz", timeout=30).status_code == 200
            slowest = max(slowest, time.perf_counter() - began)
            time.sleep(0.02)
        out, _ = client.communicate(timeout=30)
        assert client.returncode == 0
        assert json.loads(out)["points"] == POINTS  # the client got the whole stored history
        print(f"slowest /healthz: {slowest:.3f} s")
        assert slowest < 1.0, f"/healthz took {slowest:.2f} s while the snapshot was built"

"""A real uvicorn server on a free port, driven over real HTTP and WebSocket; restarts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import websockets
from websockets.sync.client import connect as ws_connect

from app.main import DB_NAME
from app.nn.network import Network
from app.nn.serialize import model_to_bytes

from .api_support import LONG_RUN, b64, digit_png, wait_for

REPO = Path(__file__).resolve().parents[2]
SERVE = """
import sys, uvicorn
from app.main import create_app
uvicorn.run(create_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(data_dir: Path, mnist_dir: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    env = {
        **os.environ,
        "NNP_DATA_DIR": str(data_dir),
        "NNP_MNIST_DIR": str(mnist_dir),
        "NNP_MNIST_DOWNLOAD": "false",
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port)], env=env, cwd=REPO, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, timeout=30, interval=0.05)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


def test_real_server_http_and_websocket(tmp_path: Path, mnist_dir: Path) -> None:
    with server(tmp_path / "data", mnist_dir) as (url, _), httpx.Client(base_url=url) as http:
        assert http.get("/healthz").json()["status"] == "ok"
        assert http.get("/").status_code == 200
        assert "openapi" in http.get("/openapi.json").json()
        net = Network([784, 16, 10], "relu", "cross_entropy", seed=0)
        model = http.post("/api/models", files={"file": ("n.npz", model_to_bytes(net, {}))})
        assert model.status_code == 201
        model_id = model.json()["id"]
        png = digit_png()
        r = http.post("/api/predict", files={"file": ("d.png", png)}, data={"model": model_id})
        assert r.status_code == 200 and len(r.json()["probabilities"]) == 10
        r = http.post("/api/predict", content=b"x" * 3_000_000)
        assert r.status_code == 413
        run_id = http.post("/api/runs", json=LONG_RUN).json()["id"]

        async def watch() -> dict[str, list[dict]]:
            got: dict[str, list[dict]] = {}
            uri = url.replace("http", "ws") + f"/api/runs/{run_id}/events"
            async with websockets.connect(uri, max_size=None) as ws:
                first = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert first["type"] == "snapshot"
                await ws.send(json.dumps({"type": "probe", "image": b64(png)}))
                await ws.send("{")
                deadline = time.monotonic() + 30
                while len(got.get("metrics", [])) < 5 or "probe" not in got:
                    assert time.monotonic() < deadline, got.keys()
                    message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    got.setdefault(message["type"], []).append(message)
            return got

        got = asyncio.run(watch())
        assert got["error"][0]["detail"] == "message is not valid JSON"
        steps = [s for m in got["metrics"] for s in m["points"]["step"]]
        assert steps == sorted(set(steps)) and len(got["probe"][0]["probabilities"]) == 10
        assert http.post(f"/api/runs/{run_id}/stop").json()["status"] == "stopped"


def test_restart_keeps_models_and_runs_and_interrupts_live_runs(
    tmp_path: Path, mnist_dir: Path
) -> None:
    data = tmp_path / "data"
    db = data / DB_NAME

    def stored_points(run_id: str) -> int:
        with sqlite3.connect(db) as conn:
            rows = conn.execute(
                "SELECT points FROM run_points WHERE run_id = ?", (run_id,)
            ).fetchall()
        return sum(len(json.loads(r[0])["step"]) for r in rows)

    # 1. Train, save a model, then kill -9 mid-training once some history is on disk.
    with server(data, mnist_dir) as (url, proc), httpx.Client(base_url=url) as http:
        run_id = http.post("/api/runs", json=LONG_RUN).json()["id"]
        wait_for(lambda: http.get(f"/api/runs/{run_id}").json()["history"]["metrics"]["step"])
        saved = http.post(f"/api/runs/{run_id}/save", json={"name": "kept"}).json()
        wait_for(lambda: stored_points(run_id) > 0, timeout=30, interval=0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    persisted = stored_points(run_id)

    # 2. After the restart: the run is interrupted with its stored history, the model is there.
    with server(data, mnist_dir) as (url, proc), httpx.Client(base_url=url) as http:
        info = http.get(f"/api/runs/{run_id}").json()
        assert info["status"] == "interrupted" and info["reason"]
        assert len(info["history"]["metrics"]["step"]) == persisted
        model = http.get(f"/api/models/{saved['id']}").json()
        assert model["name"] == "kept" and model["source_run"] == run_id
        x = np.zeros(784)
        x[350:380] = 1
        assert http.post("/api/predict", json={"pixels": x.tolist(), "model": saved["id"]}).json()
        # 3. A graceful stop (SIGTERM) while training returns within seconds.
        second = http.post("/api/runs", json=LONG_RUN).json()["id"]
        wait_for(lambda: http.get(f"/api/runs/{second}").json()["status"] == "running")
        # ... even with a watcher connected.
        uri = url.replace("http", "ws") + f"/api/runs/{second}/events"
        with ws_connect(uri, max_size=None) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
            began = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
            assert time.monotonic() - began < 5
        assert b"Traceback" not in proc.stderr.read()

    with server(data, mnist_dir) as (url, proc), httpx.Client(base_url=url) as http:
        info = http.get(f"/api/runs/{second}").json()
        assert info["status"] == "interrupted" and info["history"]["metrics"]["step"]
        # Its final weights were written at shutdown, so it can still be saved.
        assert http.post(f"/api/runs/{second}/save").status_code == 201
        assert {r["id"] for r in http.get("/api/runs").json()["runs"]} == {run_id, second}

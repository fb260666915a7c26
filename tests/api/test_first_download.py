"""A fresh machine: the first runs download MNIST, once, and report its progress to watchers."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.data.mnist import MNIST_FILES
from app.settings import Settings

from .api_support import SHORT_RUN, wait_for


def test_two_first_runs_download_mnist_once_with_progress(
    make_client, settings: Settings, mnist_mirror, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("NNP_MNIST_DIR", raising=False)  # workers must not find it either
    fresh = settings.model_copy(
        update={
            "mnist_dir": None,
            "cache_dir": tmp_path / "fresh-cache",
            "mnist_download": True,
            "mnist_mirrors": [mnist_mirror.url],
        }
    )
    client: TestClient = make_client(fresh)
    first = client.post("/api/runs", json=SHORT_RUN).json()["id"]
    second = None
    downloads: list[tuple[int, int]] = []
    with client.websocket_connect(f"/api/runs/{first}/events") as ws:
        while True:
            message = ws.receive_json()
            if message["type"] == "download":
                downloads.append((message["done"], message["total"]))
                if second is None:  # a second run starts while the first still downloads
                    second = client.post("/api/runs", json=SHORT_RUN).json()["id"]
            if message["type"] == "status" and message["status"] == "finished":
                break
    assert second is not None, "the watcher saw no download progress"
    wait_for(lambda: client.get(f"/api/runs/{second}").json()["status"] == "finished")
    # The watcher saw the progress move to the end ...
    dones = [done for done, _ in downloads]
    assert len(downloads) >= 3 and dones == sorted(dones)
    assert downloads[-1][0] == downloads[-1][1] > 10_000_000
    # ... and each file crossed the network once, for both runs.
    assert sorted(mnist_mirror.requests) == sorted(f"/{name}.gz" for name in MNIST_FILES)

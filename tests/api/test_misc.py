"""Health, presets, MNIST digits, the page and static files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.api.routers import pages
from app.data.mnist import load_mnist_test
from app.presets import LIMITS, PRESETS


def test_healthz(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body == {"status": "ok", "version": body["version"], "models": 2, "live_runs": 0}


def test_presets(client: TestClient) -> None:
    body = client.get("/api/presets").json()
    assert body["limits"] == LIMITS
    for name, config in PRESETS.items():
        assert body[name] == config.to_dict()
    assert body["3b1b"]["layers"] == [16, 16]


def test_digits(client: TestClient, mnist_dir: Path) -> None:
    images, labels = load_mnist_test(mnist_dir, download=False)
    digit = client.get("/api/digits/123").json()
    assert digit["index"] == 123 and digit["label"] == int(labels[123])
    assert np.allclose(digit["pixels"], images[123].reshape(-1) / 255, atol=1e-4)
    random = client.get("/api/digits/random").json()
    assert 0 <= random["index"] < 10_000 and len(random["pixels"]) == 784
    assert random["label"] == int(labels[random["index"]])
    for bad in (10_000, -1):
        r = client.get(f"/api/digits/{bad}")
        assert r.status_code == 404 and "out of range" in r.json()["detail"]
    assert client.get("/api/digits/seven").status_code == 422


def test_page_and_static(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "nn-playground" in r.text
    # Until the page's template exists, a placeholder points at the API docs.
    monkeypatch.setattr(pages, "TEMPLATES_DIR", tmp_path)
    r = client.get("/")
    assert r.status_code == 200 and "/docs" in r.text
    assert client.get("/static/does-not-exist.js").status_code == 404


def test_errors_are_json_everywhere(client: TestClient) -> None:
    for method, path in [("get", "/nope"), ("delete", "/api/presets"), ("put", "/api/models")]:
        r = client.request(method, path)
        assert 400 <= r.status_code < 500 and r.json()["detail"], path

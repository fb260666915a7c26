"""Fixtures for the web layer: small models standing in for the shipped ones, an app per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import app.main as main
from app.nn.network import Network
from app.nn.serialize import save_model
from app.runs.executor import ExecutorName
from app.settings import Settings


@pytest.fixture(scope="session")
def shipped_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small untrained stand-ins named like the shipped models (fast to load, fixed shapes)."""
    directory = tmp_path_factory.mktemp("shipped")
    save_model(
        directory / "accurate.npz",
        Network([784, 32, 10], "relu", "cross_entropy", seed=1),
        {"test_accuracy": 0.5, "created": "2026-11-23T20:00:00Z"},
    )
    save_model(directory / "3b1b.npz", Network([784, 16, 16, 10], seed=2), {})
    return directory


@pytest.fixture
def settings(
    tmp_path: Path, mnist_dir: Path, executor_name: ExecutorName, ray_address: str | None
) -> Settings:
    return Settings(
        executor=executor_name,
        ray_address=ray_address,
        data_dir=tmp_path / "data",
        mnist_dir=mnist_dir,
        cache_dir=tmp_path / "cache",
        max_runs=2,
        mnist_download=False,
    )


@pytest.fixture
def make_client(
    shipped_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[Settings], TestClient]]:
    """Open a TestClient (lifespan included) for given settings; all are closed at the end."""
    monkeypatch.setattr(main, "SHIPPED_MODELS_DIR", shipped_dir)
    clients: list[TestClient] = []

    def make(settings: Settings) -> TestClient:
        # TestClient's websocket_connect always sends Host: testserver.
        hosts = [*settings.allowed_hosts, "testserver"]
        app = main.create_app(settings.model_copy(update={"allowed_hosts": hosts}))
        client = TestClient(app, base_url="http://localhost")
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[[Settings], TestClient], settings: Settings) -> TestClient:
    return make_client(settings)

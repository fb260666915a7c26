"""Fixtures for the tests of app/runs: real managers over a real SQLite file and real MNIST."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.runs.executor import ExecutorName
from app.runs.executors import make_executor
from app.runs.manager import DataSource, RunManager
from app.store.db import Store
from tests.api.conftest import make_client, settings, shipped_dir  # noqa: F401 (for Ray tests)
from tests.conftest import RAY_ADDRESS_ENV

# Inside the Ray test cluster (tests/runs/test_on_ray.py runs this suite there): the cluster's
# own tests, and not the test that starts the cluster. Outside it: the other way round.
collect_ignore = ["test_on_ray.py"] if os.environ.get(RAY_ADDRESS_ENV) else ["inside_ray"]


@pytest.fixture
def make_manager(
    tmp_path: Path, mnist_dir: Path, executor_name: ExecutorName, ray_address: str | None
) -> Iterator[Callable[..., RunManager]]:
    """make_manager(max_runs=2, max_queued=100, **options) → a started RunManager, shut down
    after the test; managers made in one test share its database and runs folder."""
    managers: list[RunManager] = []

    def make(max_runs: int = 2, max_queued: int = 100, **options: Any) -> RunManager:
        manager = RunManager(
            Store(tmp_path / "db.sqlite3"),
            tmp_path / "runs",
            DataSource(mnist_dir, tmp_path / "cache", download=False),
            max_runs=max_runs,
            max_queued=max_queued,
            flush_interval=0.2,
            executor=make_executor(executor_name, ray_address),
            **options,
        )
        manager.start()
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        manager.shutdown()

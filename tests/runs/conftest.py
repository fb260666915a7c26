"""Fixtures for the tests of app/runs: real managers over a real SQLite file and real MNIST."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.runs.manager import DataSource, RunManager
from app.store.db import Store


@pytest.fixture
def make_manager(tmp_path: Path, mnist_dir: Path) -> Iterator[Callable[..., RunManager]]:
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
            **options,
        )
        manager.start()
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        manager.shutdown()

"""Fixtures for the core tests."""

from __future__ import annotations

import pytest

from app.nn.network import set_blas_threads


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread() -> None:
    """One BLAS thread, as the CLI and the workers train: on a busy machine a multithreaded
    BLAS waits for descheduled threads, and a trainer test that needs ~1000 steps then takes
    minutes instead of a second (measured: tests/nn/test_trainer.py 76 s against 6 s)."""
    set_blas_threads(1)

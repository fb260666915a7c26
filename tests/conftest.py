"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST files: $NNP_MNIST_DIR, else ../shared/datasets/mnist beside the repo."""
    path = Path(os.environ.get("NNP_MNIST_DIR") or REPO.parent / "shared" / "datasets" / "mnist")
    if (
        not (path / "t10k-labels-idx1-ubyte.gz").exists()
        and not (path / "t10k-labels-idx1-ubyte").exists()
    ):
        pytest.fail(f"MNIST not found in {path}: set NNP_MNIST_DIR to a folder with the 4 files")
    return path


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep every test's data, cache and downloads out of the real home directory."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.delenv("NNP_DATA_DIR", raising=False)
    monkeypatch.delenv("NNP_CACHE_DIR", raising=False)

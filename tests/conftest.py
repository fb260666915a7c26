"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from data.fakes import FolderMirror, serve_folder

REPO = Path(__file__).resolve().parents[1]
# Set by tests/runs/test_on_ray.py for the run suite it runs again inside its Ray cluster.
RAY_ADDRESS_ENV = "NNP_TEST_RAY_ADDRESS"


def executor_under_test() -> str:
    """`ray` inside the test cluster's network namespace, else `local`."""
    return "ray" if os.environ.get(RAY_ADDRESS_ENV) else "local"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # The run suite is parametrised by executor (tests that use `executor_name`, directly or
    # through `settings` / `make_manager`): [local] here, [ray] in the cluster's run of it.
    if "executor_name" in metafunc.fixturenames:
        metafunc.parametrize("executor_name", [executor_under_test()], scope="session")


@pytest.fixture(scope="session")
def ray_address() -> str | None:
    return os.environ.get(RAY_ADDRESS_ENV) or None


def _has_mnist(path: Path) -> bool:
    return any((path / f"t10k-labels-idx1-ubyte{ext}").exists() for ext in ("", ".gz"))


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST files: $NNP_MNIST_DIR, else ../shared/datasets/mnist beside the repo,
    else the app's own download cache (downloaded once, like `nn-playground download`)."""
    explicit = os.environ.get("NNP_MNIST_DIR")
    if explicit:
        path = Path(explicit)
        if not _has_mnist(path):
            pytest.fail(f"NNP_MNIST_DIR={path} does not hold the four MNIST files")
        return path
    shared = REPO.parent / "shared" / "datasets" / "mnist"
    if _has_mnist(shared):
        return shared
    from app.data.mnist import MNISTUnavailable, default_cache_dir, download_mnist

    try:
        return download_mnist(default_cache_dir())
    except MNISTUnavailable as error:
        pytest.fail(f"MNIST is needed for these tests: {error}")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep every test's data, cache and downloads out of the real home directory."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.delenv("NNP_DATA_DIR", raising=False)
    monkeypatch.delenv("NNP_CACHE_DIR", raising=False)


# ---- a slow MNIST mirror on 127.0.0.1 --------------------------------------------------------

CHUNK = 64 * 1024
CHUNK_PAUSE = 0.01  # ~6 MB/s: the 11 MB download takes about two seconds


@pytest.fixture
def mnist_mirror(mnist_dir: Path) -> Iterator[FolderMirror]:
    """The real MNIST files served slowly from 127.0.0.1, for first-use downloads."""
    with serve_folder(mnist_dir, chunk=CHUNK, pause=CHUNK_PAUSE) as mirror:
        yield mirror


# A network's forward pass written from the maths alone, with no app code: the reference the
# explain, dreams and training-step tests compare the app's numbers with.
HIDDEN = {
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
}


def _output(cost: str | None, z: np.ndarray) -> np.ndarray:
    if cost is None:  # the logits themselves
        return z
    if cost == "quadratic":
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _forward(
    weights: list, biases: list, activation: str, cost: str | None, x: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    zs, activations, a = [], [], x
    for layer, (w, b) in enumerate(zip(weights, biases, strict=True)):
        z = a @ w.T + b
        zs.append(z)
        a = HIDDEN[activation](z) if layer < len(weights) - 1 else _output(cost, z)
        activations.append(a)
    return zs, activations


ReferenceForward = Callable[
    [list, list, str, "str | None", np.ndarray], tuple[list[np.ndarray], list[np.ndarray]]
]


@pytest.fixture(scope="session")
def reference_forward() -> ReferenceForward:
    """`forward(weights, biases, activation, cost, x)` → (z_l, a_l of every layer): W_l is
    (n_l, n_{l-1}), x one input (n_0,) or rows (B, n_0); hidden layers apply `activation`,
    the output layer sigmoid (cost "quadratic"), softmax ("cross_entropy") or nothing (None)."""
    return _forward

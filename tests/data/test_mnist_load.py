"""Loading MNIST from local folders: the real files, source order, and verification."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from app.data.idx import write_idx
from app.data.mnist import (
    MNIST_FILES,
    MNISTUnavailable,
    find_mnist,
    load_mnist,
    load_mnist_test,
)

from .fakes import FakeMNIST


def _write_folder(folder: Path, fake: FakeMNIST, *, compressed: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in fake.arrays.items():
        write_idx(array, folder / (f"{name}.gz" if compressed else name))
    return folder


def test_real_mnist(mnist_dir: Path) -> None:
    data = load_mnist(mnist_dir, download=False)
    assert data.train_images.shape == (60000, 28, 28)
    assert data.test_images.shape == (10000, 28, 28)
    assert data.train_labels.shape == (60000,) and data.test_labels.shape == (10000,)
    for array in (data.train_images, data.train_labels, data.test_images, data.test_labels):
        assert array.dtype == np.uint8
        assert not array.flags.writeable  # shared between callers: nobody may scribble on it
    assert set(np.unique(data.train_labels)) == set(range(10))
    assert set(np.unique(data.test_labels)) == set(range(10))
    assert data.train_images.max() == 255 and data.train_images.min() == 0
    # The test split alone is the very same (cached) data.
    images, labels = load_mnist_test(mnist_dir, download=False)
    assert images is data.test_images and labels is data.test_labels
    assert load_mnist(mnist_dir, download=False).train_images is data.train_images  # cached


def test_env_dir_comes_first_and_uncompressed_files_work(
    tmp_path: Path, fake_mnist: FakeMNIST, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_dir = _write_folder(tmp_path / "env", fake_mnist, compressed=False)
    cache = _write_folder(tmp_path / "cache", fake_mnist, compressed=True)
    monkeypatch.setenv("NNP_MNIST_DIR", str(env_dir))
    assert find_mnist(None, cache) == env_dir
    monkeypatch.delenv("NNP_MNIST_DIR")
    assert find_mnist(None, cache) == cache
    assert find_mnist(tmp_path / "nothing-here", tmp_path / "nor-here") is None

    monkeypatch.setenv("NNP_MNIST_DIR", str(env_dir))
    data = load_mnist(cache_dir=cache, download=False, checksums=fake_mnist.checksums)
    np.testing.assert_array_equal(data.train_images, fake_mnist.arrays["train-images-idx3-ubyte"])


def test_an_incomplete_env_dir_falls_back_to_the_cache(
    tmp_path: Path, fake_mnist: FakeMNIST, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_dir = _write_folder(tmp_path / "env", fake_mnist, compressed=True)
    (env_dir / "train-images-idx3-ubyte.gz").unlink()
    cache = _write_folder(tmp_path / "cache", fake_mnist, compressed=True)
    monkeypatch.setenv("NNP_MNIST_DIR", str(env_dir))
    assert find_mnist(None, cache) == cache


def test_a_wrong_file_in_the_mnist_dir_is_a_clear_error(
    tmp_path: Path, fake_mnist: FakeMNIST, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Generated files under the real names: they exist, but are not MNIST.
    folder = _write_folder(tmp_path / "env", fake_mnist, compressed=True)
    monkeypatch.setenv("NNP_MNIST_DIR", str(folder))
    with pytest.raises(MNISTUnavailable) as caught:
        load_mnist(cache_dir=tmp_path / "cache", download=False, checksums=MNIST_FILES)
    message = str(caught.value)
    assert "is not the published" in message and "SHA-256" in message
    assert str(folder) in message and "\n" not in message


def test_a_replaced_file_is_verified_again(tmp_path: Path, fake_mnist: FakeMNIST) -> None:
    folder = _write_folder(tmp_path / "dir", fake_mnist, compressed=True)
    load_mnist(folder, download=False, checksums=fake_mnist.checksums)
    target = folder / "t10k-labels-idx1-ubyte.gz"
    target.write_bytes(gzip.compress(write_idx(np.zeros(16, dtype=np.uint8))))
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # surely a new mtime
    with pytest.raises(MNISTUnavailable, match="t10k-labels-idx1-ubyte"):
        load_mnist(folder, download=False, checksums=fake_mnist.checksums)


def test_files_that_match_their_checksums_but_have_the_wrong_shape(tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    arrays = {
        "train-images-idx3-ubyte": np.zeros((4, 28, 27), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.zeros(4, dtype=np.uint8),
        "t10k-images-idx3-ubyte": np.zeros((2, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.zeros(2, dtype=np.uint8),
    }
    checksums = {}
    for name, array in arrays.items():
        checksums[name] = hashlib.sha256(write_idx(array, folder / name)).hexdigest()
    with pytest.raises(MNISTUnavailable, match=r"training images: expected \(N, 28, 28\) uint8"):
        load_mnist(folder, download=False, checksums=checksums)

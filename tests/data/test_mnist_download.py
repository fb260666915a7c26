"""Downloading MNIST from mirrors: a real HTTP server on 127.0.0.1 with good and bad mirrors."""

from __future__ import annotations

import gzip
import multiprocessing
import socket
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.data.idx import read_idx, write_idx
from app.data.mnist import (
    TEST_FILES,
    MNISTUnavailable,
    download_mnist,
    load_mnist,
    load_mnist_test,
)

from .fakes import FakeMNIST, MirrorServer


def _closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def _corrupted(fake: FakeMNIST) -> dict[str, bytes]:
    """Valid gzip of the wrong payload (one byte changed): only the checksum can tell."""
    out = {}
    for name, array in fake.arrays.items():
        raw = bytearray(write_idx(array))
        raw[-1] ^= 0x01
        out[name] = gzip.compress(bytes(raw))
    return out


@pytest.fixture
def no_env_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """The download tests must not find the real MNIST through $NNP_MNIST_DIR."""
    monkeypatch.delenv("NNP_MNIST_DIR", raising=False)


def test_skips_404_and_corrupt_mirrors_and_verifies(
    tmp_path: Path, mirror_server: MirrorServer, fake_mnist: FakeMNIST
) -> None:
    missing = mirror_server.url("missing")  # answers 404 for everything
    corrupt = mirror_server.serve("corrupt", _corrupted(fake_mnist))
    good = mirror_server.serve("good", fake_mnist.gz)
    calls: list[tuple[int, int]] = []

    result = download_mnist(
        tmp_path,
        mirrors=[missing, corrupt, good],
        checksums=fake_mnist.checksums,
        progress=lambda done, total: calls.append((done, total)),
    )

    assert result == tmp_path
    fake_mnist.assert_downloaded(tmp_path)
    # Every file was tried on the 404 mirror, then the corrupt one, then the good one.
    for name in fake_mnist.arrays:
        assert mirror_server.tried(name) == ["missing", "corrupt", "good"]
    # Progress: bytes done never go back and end equal to the total, which counts every byte
    # received (including the corrupt mirror's wasted ones).
    dones = [done for done, _ in calls]
    assert dones == sorted(dones)
    assert all(done <= total for done, total in calls)
    wasted = sum(len(b) for b in _corrupted(fake_mnist).values())
    assert calls[-1] == (wasted + sum(len(b) for b in fake_mnist.gz.values()),) * 2


def test_all_mirrors_failing_names_each_one_and_the_manual_fix(
    tmp_path: Path, mirror_server: MirrorServer, fake_mnist: FakeMNIST
) -> None:
    missing = mirror_server.url("missing")
    corrupt = mirror_server.serve("corrupt", _corrupted(fake_mnist))
    not_gzip = {n: b"\x1f\x8b not really gzip" for n in fake_mnist.gz}
    garbage = mirror_server.serve("garbage", not_gzip)
    cut = mirror_server.serve("cut", fake_mnist.gz, cut_at=10)
    refused = _closed_port_url()
    mirrors = [missing, corrupt, garbage, cut, refused]

    with pytest.raises(MNISTUnavailable) as caught:
        download_mnist(tmp_path, mirrors=mirrors, checksums=fake_mnist.checksums)

    message = str(caught.value)
    assert "\n" not in message
    for mirror in mirrors:
        assert mirror in message
    assert "HTTP 404" in message and "SHA-256 mismatch" in message
    assert "bad gzip" in message and "ConnectError" in message
    assert "RemoteProtocolError" in message  # the connection closed mid-file
    assert str(tmp_path) in message and "NNP_MNIST_DIR" in message
    assert list(tmp_path.iterdir()) == []  # no .part files or half files left behind


def test_files_already_in_the_cache_are_not_downloaded_again(
    tmp_path: Path, mirror_server: MirrorServer, fake_mnist: FakeMNIST
) -> None:
    good = mirror_server.serve("good", fake_mnist.gz)
    download_mnist(tmp_path, mirrors=[good], checksums=fake_mnist.checksums)
    before = len(mirror_server.requests)
    download_mnist(tmp_path, mirrors=[good], checksums=fake_mnist.checksums)
    assert len(mirror_server.requests) == before


def test_a_wrong_file_in_the_cache_is_replaced(
    tmp_path: Path, mirror_server: MirrorServer, fake_mnist: FakeMNIST
) -> None:
    good = mirror_server.serve("good", fake_mnist.gz)
    name = "t10k-labels-idx1-ubyte"
    stale = tmp_path / name
    stale.write_bytes(write_idx(np.zeros(3, dtype=np.uint8)))  # uncompressed and wrong
    download_mnist(tmp_path, mirrors=[good], checksums=fake_mnist.checksums, files=[name])
    assert not stale.exists()
    np.testing.assert_array_equal(read_idx(tmp_path / f"{name}.gz"), fake_mnist.arrays[name])


def test_test_split_only(
    tmp_path: Path, mirror_server: MirrorServer, fake_mnist: FakeMNIST, no_env_dir: None
) -> None:
    good = mirror_server.serve("good", fake_mnist.gz)
    images, labels = load_mnist_test(
        cache_dir=tmp_path, mirrors=[good], checksums=fake_mnist.checksums
    )
    np.testing.assert_array_equal(images, fake_mnist.arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(labels, fake_mnist.arrays["t10k-labels-idx1-ubyte"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.gz" for n in TEST_FILES)


def test_load_downloads_into_the_cache_then_loads_offline(
    tmp_path: Path, mirror_server: MirrorServer, fake_mnist: FakeMNIST, no_env_dir: None
) -> None:
    good = mirror_server.serve("good", fake_mnist.gz)
    data = load_mnist(cache_dir=tmp_path, mirrors=[good], checksums=fake_mnist.checksums)
    np.testing.assert_array_equal(data.train_images, fake_mnist.arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(data.test_labels, fake_mnist.arrays["t10k-labels-idx1-ubyte"])
    mirror_server.routes.clear()  # the mirror is gone: the cache must be enough now
    again = load_mnist(cache_dir=tmp_path, download=False, checksums=fake_mnist.checksums)
    np.testing.assert_array_equal(again.train_labels, data.train_labels)


def test_default_cache_dir_follows_xdg(
    tmp_path: Path,
    mirror_server: MirrorServer,
    fake_mnist: FakeMNIST,
    no_env_dir: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    good = mirror_server.serve("good", fake_mnist.gz)
    load_mnist_test(mirrors=[good], checksums=fake_mnist.checksums)
    assert (tmp_path / "xdg" / "nn-playground" / "t10k-images-idx3-ubyte.gz").is_file()


def test_without_download_a_missing_dataset_is_a_clear_error(
    tmp_path: Path, no_env_dir: None
) -> None:
    with pytest.raises(MNISTUnavailable, match=r"downloading is off.*NNP_MNIST_DIR"):
        load_mnist(cache_dir=tmp_path, download=False)


def test_uses_the_client_it_is_given(
    tmp_path: Path, mirror_server: MirrorServer, fake_mnist: FakeMNIST
) -> None:
    good = mirror_server.serve("good", fake_mnist.gz)
    seen: list[str] = []
    with httpx.Client(event_hooks={"request": [lambda r: seen.append(str(r.url))]}) as client:
        download_mnist(
            tmp_path,
            mirrors=[good],
            checksums=fake_mnist.checksums,
            client=client,
            files=["t10k-labels-idx1-ubyte"],
        )
        assert not client.is_closed  # the caller's client is the caller's to close
    assert f"{good}t10k-labels-idx1-ubyte.gz" in seen


def test_an_unreachable_mirror_is_not_retried_for_every_file(
    tmp_path: Path, mirror_server: MirrorServer, fake_mnist: FakeMNIST
) -> None:
    refused = _closed_port_url()
    good = mirror_server.serve("good", fake_mnist.gz)
    attempts: list[str] = []
    with httpx.Client(event_hooks={"request": [lambda r: attempts.append(str(r.url))]}) as client:
        download_mnist(
            tmp_path, mirrors=[refused, good], checksums=fake_mnist.checksums, client=client
        )
    assert sum(url.startswith(refused) for url in attempts) == 1  # 4 files, one try
    assert len(list(tmp_path.iterdir())) == 4


def _download_when_told(go, cache: Path, mirror: str, checksums: dict[str, str]) -> None:
    go.wait(30)
    download_mnist(cache, mirrors=[mirror], checksums=checksums)


def test_processes_downloading_at_once_fetch_each_file_once(
    tmp_path: Path, mirror_server: MirrorServer, fake_mnist: FakeMNIST
) -> None:
    # Runs starting together on one machine (or one Ray node) share its cache: one download.
    good = mirror_server.serve("good", fake_mnist.gz)
    mirror_server.delay = 0.3  # slow enough that the three would overlap without the lock
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    workers = [
        context.Process(
            target=_download_when_told, args=(go, tmp_path, good, dict(fake_mnist.checksums))
        )
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    go.set()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    gets = Counter(path for method, path in mirror_server.requests if method == "GET")
    assert sorted(gets) == sorted(f"/good/{name}.gz" for name in fake_mnist.gz)
    assert set(gets.values()) == {1}, gets
    assert load_mnist(tmp_path, tmp_path, download=False, checksums=fake_mnist.checksums)

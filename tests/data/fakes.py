"""Generated stand-ins for MNIST files (and other datasets in its format), a mirror state served
over real HTTP, and a folder served as a mirror: the one local mirror server of the tests
(`serve_http`), used by tests/data's `mirror_server`, `serve_folder` and tests/conftest.py's
`mnist_mirror`."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from app.data.idx import read_idx, write_idx


@dataclass
class FakeMNIST:
    """Small generated stand-ins for the four MNIST files, with their checksums."""

    arrays: dict[str, np.ndarray]
    gz: dict[str, bytes]  # name -> gzip-compressed IDX bytes, as a mirror serves them
    checksums: dict[str, str]  # name -> SHA-256 of the decompressed IDX bytes

    def assert_downloaded(self, folder: Path) -> None:
        """``folder`` holds exactly these files, as served, and each reads back as generated."""
        for name, array in self.arrays.items():
            assert (folder / f"{name}.gz").read_bytes() == self.gz[name]
            np.testing.assert_array_equal(read_idx(folder / f"{name}.gz"), array)
        assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.gz" for n in self.gz)


def make_fake_mnist(seed: int = 0, train: int = 64, test: int = 16) -> FakeMNIST:
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, test, dtype=np.uint8),
    }
    raw = {name: write_idx(array) for name, array in arrays.items()}
    return FakeMNIST(
        arrays=arrays,
        gz={name: gzip.compress(data) for name, data in raw.items()},
        checksums={name: hashlib.sha256(data).hexdigest() for name, data in raw.items()},
    )


@dataclass
class MirrorServer:
    """Routes: path -> (status, body, bytes actually sent or None for all of them).

    Every request's method and path is logged in ``requests``.
    """

    base: str
    routes: dict[str, tuple[int, bytes, int | None]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0  # seconds each GET waits before answering: a slow mirror

    def url(self, prefix: str) -> str:
        return f"{self.base}/{prefix}/"

    def tried(self, name: str) -> list[str]:
        """The mirrors (their prefixes) that a GET asked for file ``name``, in order."""
        gets = [path for method, path in self.requests if method == "GET"]
        return [p.split("/")[1] for p in gets if p.endswith(f"/{name}.gz")]

    def serve(
        self, prefix: str, files: dict[str, bytes], status: int = 200, cut_at: int | None = None
    ) -> str:
        """Serve ``files`` (name -> body) as ``/<prefix>/<name>.gz``; returns the mirror URL.

        With ``cut_at``, announce the full length but hang up after that many bytes.
        """
        for name, body in files.items():
            self.routes[f"/{prefix}/{name}.gz"] = (status, body, cut_at)
        return self.url(prefix)


# ---- datasets in MNIST's format besides MNIST (issue 17 §3) ---------------------------------


@dataclass
class FakeDataset(FakeMNIST):
    """Generated files of a dataset in MNIST's format, with both kinds of checksum: of the
    decompressed files (``checksums``, as MNIST's registry entry has) and of the .gz files as
    served (``gz_checksums``, as Fashion-MNIST's entry has)."""

    gz_checksums: dict[str, str] = field(default_factory=dict)

    def checksums_for(self, checksummed: str) -> dict[str, str]:
        """The checksums a registry entry checksummed this way expects of these files."""
        return self.gz_checksums if checksummed == "compressed" else self.checksums

    def write(self, folder: Path) -> Path:
        """The .gz files, as a mirror serves them, into ``folder`` (created)."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, body in self.gz.items():
            (folder / f"{name}.gz").write_bytes(body)
        return folder


def make_fake_dataset(seed: int = 0, train: int = 600, test: int = 100) -> FakeDataset:
    """A small learnable dataset: each image is faint noise plus a bright band whose row is
    its label (0..9), so a network that reads the files right learns it in an epoch or two."""
    rng = np.random.default_rng(seed)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        images = rng.integers(0, 40, (n, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):
            images[i, 2 + 2 * int(label) : 4 + 2 * int(label), 4:24] = 255
        return images, labels

    train_images, train_labels = split(train)
    test_images, test_labels = split(test)
    arrays = {
        "train-images-idx3-ubyte": train_images,
        "train-labels-idx1-ubyte": train_labels,
        "t10k-images-idx3-ubyte": test_images,
        "t10k-labels-idx1-ubyte": test_labels,
    }
    raw = {name: write_idx(array) for name, array in arrays.items()}
    gz = {name: gzip.compress(data, mtime=0) for name, data in raw.items()}
    return FakeDataset(
        arrays=arrays,
        gz=gz,
        checksums={name: hashlib.sha256(data).hexdigest() for name, data in raw.items()},
        gz_checksums={name: hashlib.sha256(body).hexdigest() for name, body in gz.items()},
    )


@dataclass
class FolderMirror:
    """A folder served over HTTP on 127.0.0.1 by `serve_folder`; GET paths are logged."""

    url: str
    requests: list[str] = field(default_factory=list)


@contextlib.contextmanager
def serve_folder(
    folder: Path, chunk: int = 64 * 1024, pause: float = 0.0
) -> Iterator[FolderMirror]:
    """Serve ``folder`` as a static mirror on a free port of 127.0.0.1, ``chunk`` bytes at a
    time with ``pause`` seconds between chunks (a download that takes a while to watch)."""
    mirror = FolderMirror("")

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            mirror.requests.append(self.path)
            super().do_GET()

        def copyfile(self, source, outputfile) -> None:  # type: ignore[no-untyped-def]
            while data := source.read(chunk):
                outputfile.write(data)
                time.sleep(pause)  # throttling the mirror, not synchronising a test

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serve_http(partial(Handler, directory=str(folder))) as base:
        mirror.url = f"{base}/"
        yield mirror


@contextlib.contextmanager
def serve_http(handler: Callable[..., BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free port of 127.0.0.1 from a thread; yield the base URL (no
    trailing slash). The server is shut down, and its port closed, on leaving."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    # A short poll interval makes shutdown() return quickly.
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)

"""Generated stand-ins for MNIST files, and a mirror state served over real HTTP."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field

import numpy as np

from app.data.idx import write_idx


@dataclass
class FakeMNIST:
    """Small generated stand-ins for the four MNIST files, with their checksums."""

    arrays: dict[str, np.ndarray]
    gz: dict[str, bytes]  # name -> gzip-compressed IDX bytes, as a mirror serves them
    checksums: dict[str, str]  # name -> SHA-256 of the decompressed IDX bytes


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

    def serve(
        self, prefix: str, files: dict[str, bytes], status: int = 200, cut_at: int | None = None
    ) -> str:
        """Serve ``files`` (name -> body) as ``/<prefix>/<name>.gz``; returns the mirror URL.

        With ``cut_at``, announce the full length but hang up after that many bytes.
        """
        for name, body in files.items():
            self.routes[f"/{prefix}/{name}.gz"] = (status, body, cut_at)
        return self.url(prefix)

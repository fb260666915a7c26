"""Throughput of app.data.augment.augment_batch on real MNIST digits, on one core.

    python bench/augment_speed.py                  # batch sizes 32, 128, 1024, 8192
    python bench/augment_speed.py --batch 128 --images 60000

The 'accurate' preset augments every training batch, so this bounds its training speed.
Single-threaded BLAS is forced (before NumPy loads) so the number means one core.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.data.augment import augment_batch  # noqa: E402
from app.data.mnist import load_mnist  # noqa: E402


def images_per_second(x: np.ndarray, batch: int, repeats: int) -> tuple[float, float]:
    """(images per wall-clock second, images per CPU second) over ``x`` in batches.

    Best of ``repeats`` passes: on a shared machine the fastest pass is the least disturbed.
    CPU time is what one core needs when it is not shared; wall time is what you got.
    """
    rng = np.random.default_rng(0)
    augment_batch(x[:batch], rng)  # warm up
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(x), batch):
            augment_batch(x[start : start + batch], rng)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return len(x) / best_wall, len(x) / best_cpu


def main() -> int:
    parser = argparse.ArgumentParser(description="augment_batch throughput")
    parser.add_argument("--batch", type=int, action="append", help="batch size (repeatable)")
    parser.add_argument("--images", type=int, default=20000, help="images per pass")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = load_mnist()
    x = data.train_images[: args.images].reshape(-1, 784).astype(np.float32) / 255.0
    print(f"{'batch':>6}{'images/s (wall)':>17}{'images/s (CPU)':>16}")
    for batch in args.batch or [32, 128, 1024, 8192]:
        wall, cpu = images_per_second(x, batch, args.repeats)
        print(f"{batch:>6}{wall:>17,.0f}{cpu:>16,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

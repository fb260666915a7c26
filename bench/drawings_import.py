"""Importing 10,000 labelled PNGs (issue 17, bar: ≤ 30 s), through a real server.

Makes 10,000 drawings like the page's canvas sends them: MNIST test digits scaled up to
280×280 and inverted (dark ink on white), as PNGs, zips them with a `labels.csv`, starts the
server (bench/serving.py, `nn-playground serve`'s settings) with a fresh data dir, and times
`POST /api/drawings/import` from the first byte sent to the answer. Then checks the answer
(`imported` = 10,000, the counts per digit = the labels') and prints the time and met/NOT met.

    python bench/drawings_import.py [--count 10000] [--side 280]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from serving import REPO, server

from app.data.idx import read_idx

BAR_SECONDS = 30.0


def mnist_test(count: int) -> tuple[np.ndarray, np.ndarray]:
    folder = Path(os.environ.get("NNP_MNIST_DIR", REPO.parent / "shared" / "datasets" / "mnist"))
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    reps = -(-count // len(images))
    return np.tile(images, (reps, 1, 1))[:count], np.tile(labels, reps)[:count]


def make_zip(count: int, side: int) -> tuple[bytes, np.ndarray]:
    """The import zip: `count` canvas-like PNGs and labels.csv; and the labels."""
    images, labels = mnist_test(count)
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    writer.writerow(["file", "label"])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        for k, (digit, label) in enumerate(zip(images, labels, strict=True)):
            canvas = Image.fromarray(255 - digit).resize((side, side), Image.BILINEAR)
            png = io.BytesIO()
            canvas.save(png, "PNG")
            archive.writestr(f"digits/{k:05d}.png", png.getvalue())
            writer.writerow([f"digits/{k:05d}.png", int(label)])
        archive.writestr("labels.csv", rows.getvalue())
    return buf.getvalue(), labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--side", type=int, default=280, help="the canvas's side in pixels")
    args = parser.parse_args()
    started = time.perf_counter()
    data, labels = make_zip(args.count, args.side)
    print(f"made {args.count:,} PNGs of {args.side}x{args.side} in "
          f"{time.perf_counter() - started:.1f} s: a {len(data) / 1e6:.1f} MB zip")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp) / "data") as (url, _):
        started = time.perf_counter()
        r = httpx.post(
            f"{url}/api/drawings/import",
            files={"file": ("drawings.zip", data, "application/zip")},
            timeout=600,
        )
        seconds = time.perf_counter() - started
    if r.status_code != 201:
        raise SystemExit(f"the import failed: {r.status_code} {r.text[:2000]}")
    answer = r.json()
    expected = {str(d): int((labels == d).sum()) for d in range(10)}
    assert answer["imported"] == args.count, answer
    assert answer["counts"] == expected, (answer["counts"], expected)
    verdict = "met" if seconds <= BAR_SECONDS else "NOT met"
    print(f"imported {answer['imported']:,} labelled PNGs in {seconds:.1f} s "
          f"({seconds / args.count * 1000:.2f} ms each); bar <= {BAR_SECONDS:.0f} s: {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()

"""Accuracy of models on our own drawings (bench/drawings/, made with the page's pen) next to
their MNIST test accuracy.

    python bench/own_drawings.py                       # the shipped accurate and 3b1b
    python bench/own_drawings.py accurate my.npz --by style

A model is a shipped name or a `.npz` path. The drawings are already the page pipeline's 28×28
input (see bench/make_drawings.py), so they are fed as they are, through the model's own input
transform only (a model whose metadata says "deslant": true reads them deslanted, "strokes":
true with their stroke width normalised). `--drawings bench/drawings-strokes` reads the
stroke-width set.
`--drawings bench/drawings-validation` reads the held-out set.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.data.deslant import expects_deslant, transform_batch  # noqa: E402
from app.data.mnist import load_mnist_test  # noqa: E402
from app.data.strokes import expects_strokes  # noqa: E402
from app.models import SHIPPED, shipped_model_path  # noqa: E402
from app.nn import Network, load_model  # noqa: E402
from app.nn.trainer import evaluate, to_inputs  # noqa: E402

DRAWINGS = REPO / "bench" / "drawings"


def load_drawings(folder: Path) -> tuple[np.ndarray, np.ndarray, list[dict[str, str]]]:
    """(N, 784) float32 inputs, (N,) int64 labels and the CSV rows of the drawings set."""
    from PIL import Image

    with open(folder / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    pixels = np.stack([np.asarray(Image.open(folder / row["file"]).convert("L")) for row in rows])
    labels = np.array([int(row["label"]) for row in rows], dtype=np.int64)
    return to_inputs(pixels), labels, rows


Transforms = tuple[bool, bool]


def load(name: str) -> tuple[Network, Transforms]:
    """The network and its input transforms: (deslant, strokes), as in its metadata."""
    path = shipped_model_path(name) if name in SHIPPED else Path(name)
    network, metadata = load_model(path)
    return network, (expects_deslant(metadata), expects_strokes(metadata))


def model_inputs(x: np.ndarray, transforms: Transforms) -> np.ndarray:
    """The drawings (or digits) as a model with these transforms reads them."""
    return transform_batch(x, *transforms) if any(transforms) else x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=["accurate", "3b1b"], help="names or .npz paths")
    ap.add_argument("--drawings", type=Path, default=DRAWINGS)
    ap.add_argument("--by", choices=["label", "style", "shape"], help="also break down by this")
    args = ap.parse_args()

    x, y, rows = load_drawings(args.drawings)
    mnist = os.environ.get("NNP_MNIST_DIR")
    test_images, test_labels = load_mnist_test(Path(mnist) if mnist else None)
    test_x, test_y = to_inputs(test_images), test_labels.astype(np.int64)
    print(f"drawings: {len(y)} in {args.drawings} ({np.bincount(y, minlength=10).min()}+ a digit)")
    print(f"{'model':<36} {'own drawings':>16} {'MNIST test':>11}")
    for name in args.models:
        network, transforms = load(name)
        predicted, _ = evaluate(network, model_inputs(x, transforms), y)
        right = predicted == y
        tests = to_inputs(model_inputs(test_images, transforms)) if any(transforms) else test_x
        mnist_accuracy = float(np.mean(evaluate(network, tests, test_y)[0] == test_y))
        own = f"{right.mean():.1%} ({right.sum()}/{len(y)})"
        print(f"{name:<36} {own:>16} {mnist_accuracy:>10.2%}")
        if args.by:
            groups: dict[str, list[bool]] = defaultdict(list)
            for row, ok in zip(rows, right, strict=True):
                groups[row[args.by]].append(bool(ok))
            for key, oks in sorted(groups.items()):
                print(f"    {args.by} {key:<28} {sum(oks):>3}/{len(oks)}")
        wrong = [
            f"{row['file'][:-4]}→{p}"
            for row, p, ok in zip(rows, predicted, right, strict=True)
            if not ok
        ]
        print("    wrong: " + (", ".join(wrong) or "none"))


if __name__ == "__main__":
    main()

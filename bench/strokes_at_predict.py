"""A model read with stroke-width normalisation at prediction only, and test-time averaging
(issue 17 §5 candidates that need no retraining).

    python bench/strokes_at_predict.py                 # the shipped accurate
    python bench/strokes_at_predict.py my.npz

For each of the validation split (the last 5,000 training digits), the MNIST test set, the dev
drawings (bench/drawings/) and the stroke-width set (bench/drawings-strokes/): the accuracy
of the model through its own transform (deslant for accurate), through stroke normalisation
then that (app/data/deslant.py's model_input with strokes on, although the network was not
trained so), and of the average of the two outputs (test-time augmentation: two forward
passes). Read bench/drawings-validation/ only after choosing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from own_drawings import load, load_drawings  # noqa: E402

from app.data.deslant import transform_batch  # noqa: E402
from app.data.mnist import load_mnist  # noqa: E402
from app.nn.trainer import to_inputs  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default="accurate", help="a shipped name or .npz path")
    ap.add_argument("--also", type=Path, action="append", default=[], help="another drawings set")
    args = ap.parse_args()
    mnist = os.environ.get("NNP_MNIST_DIR")
    data = load_mnist(Path(mnist) if mnist else None)
    network, (deslant, strokes) = load(args.model)
    sets = {
        "validation split": (data.train_images[-5000:], data.train_labels[-5000:]),
        "MNIST test": (data.test_images, data.test_labels),
    }
    for folder in [REPO / "bench" / "drawings", REPO / "bench" / "drawings-strokes", *args.also]:
        x, y, _ = load_drawings(folder)
        sets[folder.name] = (x, y)
    print(f"{args.model}: trained with deslant={deslant}, strokes={strokes}")
    print(f"{'':<22} {'own transform':>14} {'+strokes':>10} {'average':>9}")
    for name, (x, labels) in sets.items():
        y = labels.astype(np.int64)
        plain = network.predict_proba(_inputs(x, deslant, strokes))
        normal = network.predict_proba(_inputs(x, deslant, True))
        row = [np.mean(p.argmax(axis=1) == y) for p in (plain, normal, plain + normal)]
        print(f"{name:<22} {row[0]:>14.2%} {row[1]:>10.2%} {row[2]:>9.2%}")


def _inputs(x: np.ndarray, deslant: bool, strokes: bool) -> np.ndarray:
    out = transform_batch(x, deslant, strokes) if deslant or strokes else x
    return to_inputs(out) if out.dtype == np.uint8 else out


if __name__ == "__main__":
    main()

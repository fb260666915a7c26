"""Candidate for issue 17 §5 (measured, not shipped): the `accurate` preset with stroke-width
and stronger slant augmentation. Every training batch's digits are first grown or thinned by a
random fractional number of grey dilation/erosion steps with the 3×3 cross (uniform in
[-0.5, 1.5]: from thinner to ~3 px thicker), then distorted by augment_batch with its shear
raised to ±SHEAR (default 0.2, the preset's is 0.09). It patches app.data.augment.augment_batch
in this process only, trains like `nn-playground train --preset accurate` and saves the model.

    python bench/strokes_augment.py /tmp/candidate.npz [SHEAR]
    python bench/own_drawings.py /tmp/candidate.npz --drawings bench/drawings-strokes
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import app.data.augment as augment  # noqa: E402
from app.data.mnist import load_mnist  # noqa: E402
from app.nn.serialize import save_model, trained_metadata  # noqa: E402
from app.nn.trainer import Trainer  # noqa: E402
from app.presets import PRESETS  # noqa: E402

WIDTH_STEPS = (-0.5, 1.5)
_original = augment.augment_batch


def _cross(x: np.ndarray, pick: np.ufunc) -> np.ndarray:
    padded = np.zeros((x.shape[0], 30, 30), np.float32)
    padded[:, 1:-1, 1:-1] = x
    out = pick(x, padded[:, :-2, 1:-1])
    for view in (padded[:, 2:, 1:-1], padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]):
        pick(out, view, out=out)
    return out


def widths(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Every digit's strokes grown or thinned by its own random number of steps."""
    x = np.asarray(images, np.float32).reshape(-1, 28, 28)
    s = rng.uniform(*WIDTH_STEPS, len(x)).astype(np.float32)[:, None, None]
    grown = _cross(x, np.maximum)
    twice = _cross(grown, np.maximum)
    thinned = _cross(x, np.minimum)
    out = np.where(
        s >= 1, grown + (s - 1) * (twice - grown),
        np.where(s >= 0, x + s * (grown - x), x - s * (thinned - x)),
    )  # fmt: skip
    return out.reshape(-1, 784).astype(np.float32)


def main() -> None:
    out = Path(sys.argv[1])
    shear = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2

    def patched(images: np.ndarray, rng: np.random.Generator, **options: object) -> np.ndarray:
        options["shear"] = shear
        return _original(widths(images, rng), rng, **options)  # type: ignore[arg-type]

    augment.augment_batch = patched  # type: ignore[assignment]
    config = PRESETS["accurate"]
    mnist = os.environ.get("NNP_MNIST_DIR")
    trainer = Trainer(config, load_mnist(Path(mnist) if mnist else None))
    trainer.run()
    last = trainer.evaluations[-1]
    summary = {"validation": last.validation_accuracy, "test": last.test_accuracy}
    print(json.dumps({**summary, "seconds": round(trainer.seconds, 1)}))
    metadata = trained_metadata(config.to_dict(), "accurate", config.epochs, last.test_accuracy)
    save_model(out, trainer.network, {**metadata, "candidate": "strokes_augment", "shear": shear})


if __name__ == "__main__":
    main()

"""The `accurate` recipe candidates of bench/README.md: validation accuracy and CPU seconds.

    python bench/recipe_candidates.py                       # list the candidates
    python bench/recipe_candidates.py chosen old-affine-20  # train these (minutes each)
    python bench/recipe_candidates.py all --epochs 1 --train-subset 2000   # smoke run

Each candidate is the `accurate` preset with some fields changed and its own augmentation
options (keyword arguments of `augment_batch`). TrainConfig exposes only `augment_strength`,
so for its run the script substitutes `app.nn.trainer.augment_options`. It prints the
validation accuracy after the last epoch (the last 5,000 training images; the test set is not
printed: it is not for choosing) and the process's CPU seconds, split into the augmentation
thread (thread time inside `augment_batch`) and the rest (training steps and evaluation).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import app.data.augment as augment  # noqa: E402
import app.nn.trainer as trainer  # noqa: E402
from app.data.mnist import load_mnist  # noqa: E402
from app.nn import set_blas_threads  # noqa: E402
from app.presets import resolve_config  # noqa: E402

OLD = {"shift": 2.5, "rotate": 12.0, "scale": (0.87, 1.13), "shear": 0.15, "thickness": 0.5}
MILD = trainer.augment_options(1.0)  # the chosen augmentation (elastic included)
MILD_AFFINE = {k: v for k, v in MILD.items() if not k.startswith("elastic")}


def _elastic(sigma: float, alpha: float = 34.0) -> dict[str, float]:
    return {"elastic": alpha, "elastic_sigma": sigma}


# name -> (preset overrides, augment_batch options)
CANDIDATES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "old-affine-20": ({"epochs": 20}, OLD),
    "old-elastic5-20": ({"epochs": 20}, {**OLD, **_elastic(5)}),
    "old-affine-36": ({"epochs": 36}, OLD),
    "old-elastic5-36": ({"epochs": 36}, {**OLD, **_elastic(5)}),
    "old-elastic5-32": ({"epochs": 32}, {**OLD, **_elastic(5)}),
    "old-elastic5-lr005": ({"epochs": 32, "learning_rate": 0.005}, {**OLD, **_elastic(5)}),
    "old-elastic6-32": ({"epochs": 32}, {**OLD, **_elastic(6)}),
    "old-elastic5-384x192": ({"epochs": 24, "layers": [384, 192]}, {**OLD, **_elastic(5)}),
    "mild-elastic5": ({"epochs": 32}, {**MILD_AFFINE, **_elastic(5)}),
    "mild-elastic5-no-thickness": ({"epochs": 32}, {**MILD_AFFINE, **_elastic(5), "thickness": 0}),
    "mild-elastic5-shear03": ({"epochs": 32}, {**MILD_AFFINE, **_elastic(5), "shear": 0.3}),
    "mild-elastic5-seed1": ({"epochs": 32, "seed": 1}, {**MILD_AFFINE, **_elastic(5)}),
    "mild-elastic5-batch256": (
        {"epochs": 32, "batch_size": 256, "learning_rate": 0.004},
        {**MILD_AFFINE, **_elastic(5)},
    ),
    "mild-elastic5-320x160": ({"epochs": 26, "layers": [320, 160]}, {**MILD_AFFINE, **_elastic(5)}),
    "chosen": ({}, MILD),
    "chosen-seed1": ({"seed": 1}, MILD),
    "chosen-seed2": ({"seed": 2}, MILD),
    "chosen-batch256-38": ({"epochs": 38, "batch_size": 256, "learning_rate": 0.004}, MILD),
    "chosen-320x160": ({"epochs": 26, "layers": [320, 160]}, MILD),
    "chosen-shear03": ({}, {**MILD, "shear": 0.3}),
    "chosen-rotate12-shear015": ({}, {**MILD, "rotate": 12.0, "shear": 0.15}),
}


def run(name: str, extra: dict[str, Any], data: Any) -> str:
    overrides, options = CANDIDATES[name]
    config = resolve_config("accurate", {**overrides, **extra})
    spent = [0.0]
    real = augment.augment_batch

    def timed(images: Any, rng: Any, **kwargs: Any) -> Any:
        began = time.thread_time()
        try:
            return real(images, rng, **kwargs)
        finally:
            spent[0] += time.thread_time() - began

    saved_options = trainer.augment_options
    trainer.augment_options = lambda strength: dict(options)
    augment.augment_batch = timed
    before = resource.getrusage(resource.RUSAGE_SELF)
    try:
        run_ = trainer.Trainer(config, data)
        run_.run()
    finally:
        trainer.augment_options = saved_options
        augment.augment_batch = real
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    accuracy = run_.evaluations[-1].validation_accuracy if run_.evaluations else None
    shown = f"{accuracy:.2%}" if accuracy is not None else "n/a"
    return (
        f"{name:<28} {config.epochs:>6} {shown:>11} {cpu - spent[0]:>8.1f} + {spent[0]:<6.1f}"
        f" {run_.seconds:>7.1f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="candidates to train, or 'all'")
    ap.add_argument("--epochs", type=int, help="override every candidate's epochs (smoke runs)")
    ap.add_argument("--train-subset", type=int, help="train on the first N images only")
    args = ap.parse_args()
    if not args.names:
        print("\n".join(CANDIDATES))
        return
    names = list(CANDIDATES) if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        raise SystemExit(f"unknown candidate(s): {', '.join(unknown)}")
    extra = {"epochs": args.epochs, "train_subset": args.train_subset}
    mnist = os.environ.get("NNP_MNIST_DIR")
    data = load_mnist(Path(mnist) if mnist else None)
    set_blas_threads(1)
    print(f"{'candidate':<28} {'epochs':>6} {'validation':>11} {'CPU-s train + augment':>18} wall")
    for name in names:
        print(run(name, extra, data), flush=True)


if __name__ == "__main__":
    main()

"""Reading other people's handwriting (issue 17 §5): the old and the new `accurate` side by side.

    python bench/handwriting.py                          # old = accurate at 7591fbc (deslant)
    python bench/handwriting.py --old a.npz --new b.npz  # any two model files

For each model: MNIST test accuracy (each through its own input transform: a model whose
metadata says "deslant": true reads deslanted digits, "strokes": true stroke-normalised ones),
accuracy on the drawings made with the page's pen (bench/drawings/, the set recipes were looked
at with, and the held-out bench/drawings-validation/: shapes and styles never used to choose
anything) and on bench/drawings-strokes/ (fixed pens, hairline to marker), by style, and
the CPU cost per prediction of the model's input transform next to the whole preprocessing of
a 280×280 PNG. Then the bars, met or NOT met. The hidden set of other people's handwriting
(the issue's 87.5% → ≥ 92%) is not here: the drawings are a proxy, not that set.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from load_predict import digit_png  # noqa: E402
from own_drawings import Transforms, load_drawings, model_inputs  # noqa: E402

from app.data.deslant import expects_deslant, model_input  # noqa: E402
from app.data.mnist import load_mnist_test  # noqa: E402
from app.data.preprocess import image_to_input_with_note  # noqa: E402
from app.data.strokes import expects_strokes  # noqa: E402
from app.nn import Network, load_model  # noqa: E402
from app.nn.trainer import evaluate, to_inputs  # noqa: E402

# main when issue 17 §5's stroke-width work started: the `accurate` it replaces (deslant only;
# `--old` with `git show 6408cfe:app/models/accurate.npz` compares with the one before deslant)
BASE = "7591fbc"
SETS = {
    "dev": REPO / "bench" / "drawings",
    "held-out": REPO / "bench" / "drawings-validation",
    "strokes": REPO / "bench" / "drawings-strokes",  # fixed pens: hairlines to blobs
}
MNIST_BAR = 0.990
TRAIN_SECONDS_BAR = 60.0
TRANSFORM_BAR_MS = 0.15
HIDDEN_BAR = 0.92


def old_model(commit: str) -> Path:
    """The shipped accurate.npz at `commit`, written to a temporary file."""
    data = subprocess.run(
        ["git", "show", f"{commit}:app/models/accurate.npz"], cwd=REPO, capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / f"accurate-{commit}.npz"
    path.write_bytes(data)
    return path


def cpu_microseconds(work, repeats: int = 300, rounds: int = 7) -> float:
    """Least CPU time of one call over `rounds` rounds of `repeats` calls (CPU time, not wall:
    the machine is shared; the least round is the least disturbed)."""
    best = float("inf")
    for _ in range(rounds):
        began = time.process_time()
        for _ in range(repeats):
            work()
        best = min(best, (time.process_time() - began) / repeats)
    return best * 1e6


def by_style(
    network: Network, transforms: Transforms, folder: Path
) -> tuple[float, dict[str, str]]:
    x, y, rows = load_drawings(folder)
    predicted, _ = evaluate(network, model_inputs(x, transforms), y)
    groups: dict[str, list[bool]] = defaultdict(list)
    for row, ok in zip(rows, predicted == y, strict=True):
        groups[row["style"]].append(bool(ok))
    return float(np.mean(predicted == y)), {k: f"{sum(v)}/{len(v)}" for k, v in groups.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=Path, help=f"old model file (default: accurate at {BASE})")
    ap.add_argument("--new", type=Path, default=REPO / "app" / "models" / "accurate.npz")
    args = ap.parse_args()
    models = {"old": args.old or old_model(BASE), "new": args.new}

    mnist = os.environ.get("NNP_MNIST_DIR")
    images, labels = load_mnist_test(Path(mnist) if mnist else None)
    y = labels.astype(np.int64)
    png = digit_png()  # bench/load_predict.py's: an MNIST test digit on a 280×280 canvas
    base_input = image_to_input_with_note(png)[0]
    results: dict[str, dict[str, object]] = {}
    for name, path in models.items():
        network, metadata = load_model(path)
        transforms = (expects_deslant(metadata), expects_strokes(metadata))
        x = to_inputs(model_inputs(images, transforms))
        predicted, _ = evaluate(network, x, y)
        sets = {key: by_style(network, transforms, folder) for key, folder in SETS.items()}
        results[name] = {
            "file": path,
            "transforms": transforms,
            "mnist": float(np.mean(predicted == y)),
            "sets": sets,
            "transform_us": cpu_microseconds(lambda t=transforms: model_input(base_input, *t)),
            "seconds": metadata.get("seconds"),
        }
    preprocess_us = cpu_microseconds(lambda: image_to_input_with_note(png), repeats=100)
    report(results, preprocess_us)


def report(results: dict[str, dict[str, object]], preprocess_us: float) -> None:
    old, new = results["old"], results["new"]
    print(f"{'':<34} {'old':>14} {'new':>14}")
    print(f"{'file':<34} {Path(str(old['file'])).name:>14} {Path(str(new['file'])).name:>14}")
    print(f"{'input transform':<34} {_transform(old):>14} {_transform(new):>14}")
    print(f"{'MNIST test accuracy':<34} {old['mnist']:>14.2%} {new['mnist']:>14.2%}")
    for key in SETS:
        o_acc, o_styles = old["sets"][key]  # type: ignore[index]
        n_acc, n_styles = new["sets"][key]  # type: ignore[index]
        print(f"{'drawings, ' + key:<34} {o_acc:>14.1%} {n_acc:>14.1%}")
        for style in sorted(n_styles):
            print(f"    {style:<30} {o_styles[style]:>14} {n_styles[style]:>14}")
    print(f"{'transform CPU per prediction':<34} {_us(old):>14} {_us(new):>14}")
    print(f"(the whole preprocessing of load_predict's 280×280 PNG: {preprocess_us:.0f} µs CPU)")
    seconds = new["seconds"]
    print()
    _bar(float(new["mnist"]) >= MNIST_BAR, f"new MNIST test accuracy ≥ {MNIST_BAR:.1%}")  # type: ignore[arg-type]
    _bar(
        float(new["transform_us"]) <= TRANSFORM_BAR_MS * 1000,  # type: ignore[arg-type]
        f"the model's input transform ≤ {TRANSFORM_BAR_MS} ms CPU per prediction",
    )
    if isinstance(seconds, int | float):
        _bar(
            seconds <= TRAIN_SECONDS_BAR,
            f"training ≤ {TRAIN_SECONDS_BAR:.0f} s: {seconds:.1f} s as recorded in the file "
            "(timings on a shared machine: re-time idle)",
        )
    n_dev = float(new["sets"]["held-out"][0])  # type: ignore[index]
    o_dev = float(old["sets"]["held-out"][0])  # type: ignore[index]
    _bar(n_dev >= o_dev, "held-out drawings read at least as well as before (a proxy)")
    print(
        f"not measurable here: the hidden set of other people's handwriting (bar ≥ "
        f"{HIDDEN_BAR:.0%}, 87.5% for the old model); the drawings above are only a proxy"
    )


def _transform(result: dict[str, object]) -> str:
    deslant, strokes = result["transforms"]  # type: ignore[misc]
    names = [name for name, on in (("strokes", strokes), ("deslant", deslant)) if on]
    return "+".join(names) or "none"


def _us(result: dict[str, object]) -> str:
    return f"{float(result['transform_us']):.0f} µs"  # type: ignore[arg-type]


def _bar(met: bool, text: str) -> None:
    print(f"{'met' if met else 'NOT met'}: {text}")


if __name__ == "__main__":
    main()

"""Where the "can't read this" note's thresholds come from (app.data.preprocess.readability).

Measures the ink's extent (longer side of its bounding box / canvas side) and total ink
(fraction of the canvas area) of all 10,000 MNIST test digits, each upscaled so its height
is 35%, 50%, 70% and 90% of a 280×280 canvas (as bench/pasted_digits.py pastes them), and of
deliberate junk drawn with the page's pen (7.2% of the pad): dots, short ticks, tiny
scribbles. Also the 28×28 grid measures used for a `pixels` input, on the raw test digits.
Prints the distributions and checks: no MNIST digit gets a note, every piece of junk does.

    python bench/note_thresholds.py            # all 10,000 (about a minute)
    python bench/note_thresholds.py --limit 1000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.data import preprocess as pp  # noqa: E402
from app.data.mnist import load_mnist_test  # noqa: E402

CANVAS = 280
PEN = round(0.072 * CANVAS)
SIZES = (0.35, 0.5, 0.7, 0.9)


def pasted_ink(digit: np.ndarray, size: float) -> np.ndarray:
    """Raw ink of ``digit`` ((28, 28) uint8) upscaled to ``size`` of the canvas height."""
    rows = np.flatnonzero(digit.max(axis=1))
    cols = np.flatnonzero(digit.max(axis=0))
    zoom = min(size * CANVAS / (rows[-1] - rows[0] + 1), (CANVAS - 4) / (cols[-1] - cols[0] + 2))
    side = round(28 * zoom)
    big = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC))
    big = big[np.ix_(big.max(axis=1) > 0, big.max(axis=0) > 0)][:CANVAS, :CANVAS]
    canvas = np.zeros((CANVAS, CANVAS), dtype=np.float32)
    canvas[: big.shape[0], : big.shape[1]] = big / 255.0
    ink = pp._ink_from_grey(canvas)
    assert ink is not None
    return ink


def junk(rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    """Dots, short ticks (up to 3% of the pad long) and tiny scribbles, with the page's pen."""
    out = []
    for kind in ("dot", "tick", "scribble"):
        for _ in range(50):
            image = Image.new("L", (CANVAS, CANVAS), 0)
            draw = ImageDraw.Draw(image)
            x, y = rng.uniform(30, 250, size=2)
            if kind == "dot":
                points = [(x, y)]
            elif kind == "tick":
                angle, length = rng.uniform(0, np.pi), rng.uniform(0.0, 0.03) * CANVAS
                points = [(x, y), (x + length * np.cos(angle), y + length * np.sin(angle))]
            else:
                points = [(x + dx, y + dy) for dx, dy in rng.uniform(-4, 4, size=(6, 2))]
            draw.line(points, fill=255, width=PEN, joint="curve")
            r = PEN / 2
            for px, py in points:
                draw.ellipse((px - r, py - r, px + r, py + r), fill=255)
            ink = pp._ink_from_grey(np.asarray(image, dtype=np.float32) / 255.0)
            assert ink is not None
            out.append((kind, ink))
    return out


def describe(name: str, values: np.ndarray) -> None:
    q = np.percentile(values, [0, 1, 50, 99, 100])
    print(
        f"  {name:<10} min {q[0]:.4f}  p1 {q[1]:.4f}  median {q[2]:.4f}  "
        f"p99 {q[3]:.4f}  max {q[4]:.4f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=10_000)
    args = parser.parse_args()
    images, _ = load_mnist_test()
    images = images.reshape(-1, 28, 28)[: args.limit]
    failures = 0
    for size in SIZES:
        measures = [pp.measure_ink(pasted_ink(d, size)) for d in images]
        extent = np.array([m.extent for m in measures])
        ink = np.array([m.ink for m in measures])
        noted = int(np.count_nonzero((extent < pp.MIN_EXTENT) | (ink < pp.MIN_INK)))
        failures += noted
        print(f"MNIST test digits at {size:.0%} of the canvas height ({len(images)}):")
        describe("extent", extent)
        describe("ink", ink)
        print(f"  noted: {noted}")
    grid = images.reshape(len(images), -1).astype(np.float32) / 255.0
    grid_notes = sum(pp.pixels_note(g) is not None for g in grid)
    print(f"MNIST test digits as 28×28 pixels: noted {grid_notes}, ink sum:")
    describe("ink sum", grid.sum(axis=1))
    failures += grid_notes
    rng = np.random.default_rng(0)
    missed = 0
    for kind in ("dot", "tick", "scribble"):
        inks = [ink for k, ink in junk(rng) if k == kind]
        ms = [pp.measure_ink(ink) for ink in inks]
        caught = sum(pp.readability(ink) is not None for ink in inks)
        missed += len(inks) - caught
        print(f"junk: {kind} ({len(inks)}): noted {caught}")
        describe("extent", np.array([m.extent for m in ms]))
    print(
        f"thresholds: extent < {pp.MIN_EXTENT}, ink < {pp.MIN_INK}; 28×28: extent < "
        f"{pp.MIN_GRID_EXTENT} px, ink sum < {pp.MIN_GRID_INK}"
    )
    print(f"MNIST digits noted: {failures}; junk not noted: {missed}")
    return 0 if failures == 0 and missed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

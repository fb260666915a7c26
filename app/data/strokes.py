"""Stroke-width normalisation: the second input transform a model may be trained for.

The page re-draws what it sends with a pen proportional to the drawing (static/js/draw.js), but
other apps and API clients post digits drawn with whatever pen they had: a hairline, or a
marker whose strokes, once the digit is scaled to MNIST's 20 px box, are 5-6 px blobs.
MNIST's writers used pens that land at ~2.5 px. This transform estimates a digit's stroke
width and thins strokes thicker than MNIST's to the top of its range, so the network never
reads a blob it never learned from.

The width: for strokes of length L and width w, the ink is L·w and the outline is 2·L long.
The outline's length is measured by the image's total variation (Σ|∂I/∂x| + Σ|∂I/∂y| over
neighbouring pixels), which on a pixel grid counts a boundary of random direction 4/π times
(Cauchy), so

    width = ink / length = 8 · Σ I / (π · TV).

It is exact enough for a 28×28 digit (tests draw strokes at known widths) and costs a few
whole-image NumPy calls, where thinning to a skeleton (Zhang–Suen) would take a loop of
passes. The change: one grey-level erosion with the 3×3 cross moves every edge in by one
pixel, so the strokes thin by 2 px per step; a fractional step blends the image with its
eroded self. The digit is re-fitted to MNIST's 20 px box afterwards (center_digit, or deslant's
re-fit), which scales the change too, and the box shrinks by whole steps only: steps_for aims
at the width that comes out after the re-fit (the range's top, 3.47 px).

Thin strokes are left as they are. Growing them does not work through the re-fit: a fractional
dilation adds a faint 1 px ring that the box counts, so the digit comes out thinner than it went
in, and whole steps make a cliff (two nearly equal drawings reaching the network 1.25 px apart);
the page's own small drawings (~1.8 px) sit right at that edge.

A digit whose loops a fat pen filled in stays filled (no thinning can reopen them), and the
steps are bounded (MAX_THIN) so that nothing is eroded away.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from app.data.preprocess import BOX, FIELD

__all__ = [
    "MAX_THIN",
    "METADATA_KEY",
    "TARGET_WIDTH",
    "WIDTH_RANGE",
    "expects_strokes",
    "restroke",
    "stroke_width",
]

# A model file's metadata says `"strokes": true` when the network was trained on digits whose
# strokes were normalised so; without it, no model sees this transform.
METADATA_KEY = "strokes"
# MNIST's stroke widths by stroke_width over its 60,000 training digits: median 2.50 px, the
# middle half 2.12-2.96, the middle 80% 1.84-3.47 (tests/data/test_strokes.py measures them).
# Strokes within WIDTH_RANGE are left as they are: MNIST's writers used all those pens; a
# thicker digit is thinned to 3.47 px, a thinner one left as it is (steps_for).
TARGET_WIDTH = 2.50
WIDTH_RANGE = (1.84, 3.47)
# The most erosion steps of one pixel a side: 2.5 (a 7 px blob → 2 px).
MAX_THIN = 2.5
_MIN_INK = 1e-6
_OUTLINE = np.float32(8.0 / math.pi)


def stroke_width(image: np.ndarray) -> float:
    """The stroke width in pixels, 8·Σ I / (π·TV), of a (28, 28) or (784,) image in 0..1
    (see the module doc); 0 for an image without ink."""
    grid = np.asarray(image, dtype=np.float32).reshape(FIELD, FIELD)
    return _width(grid)


def _width(grid: np.ndarray) -> float:
    variation = float(np.abs(np.diff(grid, axis=0)).sum() + np.abs(np.diff(grid, axis=1)).sum())
    if variation <= _MIN_INK:
        return 0.0
    return float(_OUTLINE * grid.sum()) / variation


def _erode(grid: np.ndarray) -> np.ndarray:
    """One grey-level erosion with the 3×3 cross; outside reads 0."""
    padded = np.zeros((FIELD + 2, FIELD + 2), dtype=np.float32)
    padded[1:-1, 1:-1] = grid
    out: np.ndarray = np.minimum(grid, padded[:-2, 1:-1])
    np.minimum(out, padded[2:, 1:-1], out=out)
    np.minimum(out, padded[1:-1, :-2], out=out)
    np.minimum(out, padded[1:-1, 2:], out=out)
    return out


def steps_for(width: float) -> float:
    """Erosion steps (one pixel a side each) that thin strokes of `width` in a digit
    of MNIST's geometry to the top of WIDTH_RANGE once it is re-fitted (module doc); 0 for
    strokes within the range or thinner.

    The re-fit to the 20 px box scales whatever the steps did, and an erosion shrinks the box
    by its whole steps only: w' = (w - 2s)·BOX / (BOX - 2·⌊s⌋). Thin strokes are not grown: a
    dilation by any fraction adds a faint 1 px ring that the box counts, so the re-fitted
    digit comes out thinner, and whole steps make a cliff (a 1.65 px and a 1.60 px stroke would
    reach the network 1.25 px apart; the page's small drawings sit right there)."""
    high = WIDTH_RANGE[1]
    if width <= high:
        return 0.0
    steps = MAX_THIN
    for whole in range(math.ceil(MAX_THIN) + 1):  # the whole steps the box shrinks by
        steps = (width - high * (BOX - 2.0 * whole) / BOX) / 2.0
        if math.floor(steps) <= whole:
            break
    return min(steps, MAX_THIN)


def restroke(image: np.ndarray) -> np.ndarray | None:
    """A (28, 28) float32 copy of a digit (784,) or (28, 28) in 0..1 with strokes thicker
    than WIDTH_RANGE thinned into it, NOT re-fitted (the caller re-fits it: app/data/deslant.py's
    model_input); None when nothing changes: no ink, strokes within the range or thinner, or a
    thinning that would leave no ink."""
    grid = np.asarray(image, dtype=np.float32).reshape(FIELD, FIELD)
    width = _width(grid)
    steps = steps_for(width) if width > 0.0 else 0.0
    if steps == 0.0:
        return None
    out = grid
    while steps >= 1.0:
        out = _erode(out)
        steps -= 1.0
    if steps > 0.0:
        part = np.float32(steps)
        out = out + part * (_erode(out) - out)
    if not out.max() > _MIN_INK:
        return None
    return out


def expects_strokes(metadata: Mapping[str, object]) -> bool:
    """Whether a model file's metadata asks for stroke-normalised input (only a literal true)."""
    return metadata.get(METADATA_KEY) is True

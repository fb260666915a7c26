"""Lanczos resampling of a float32 image as two small matrix products.

MNIST's digits were scaled (anti-aliased) to fit a 20 px box, and so is every drawing
(preprocess.py's `_centred`). The filter is Lanczos-3, exactly as Pillow defines it for
`Image.resize(..., Image.Resampling.LANCZOS)`:

    L(t) = sinc(t) · sinc(t / 3)   for -3 ≤ t < 3, else 0,

stretched by the scale when shrinking (`s = in / out`, the filter spans 3·s input pixels either
side), centred on each output pixel's centre in input coordinates (`(o + ½)·s`), clipped at the
image's edges and normalised so each output pixel's weights sum to 1. Resampling is separable:
with W_x the (out_w, in_w) matrix of those weights for the columns and W_y for the rows,

    out = W_y · image · W_xᵀ

Pillow computes the same two passes pixel by pixel in C; as matrices, in float32 BLAS, they
cost a fraction of that on the drawings the page sends (a ~200 px crop → 20 px), and the weight
matrices are cached per (input size, output size). The results agree with Pillow's to within a
few units in the last place of float32 (tests/data/test_lanczos.py compares them on hundreds of
random crops).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["SUPPORT", "lanczos", "resize", "weights"]

SUPPORT = 3.0  # Lanczos-3: the kernel is zero from 3 pixels away (at scale 1)


def lanczos(t: np.ndarray) -> np.ndarray:
    """L(t) = sinc(t)·sinc(t/3) on [-3, 3), 0 elsewhere, in float32 (NumPy's float32 sine is
    vectorised: ~25× faster than float64's, and the taps end up float32 anyway).

    sinc(t)·sinc(t/3) = sin(πt)·sin(πt/3) / (π²t²/3), and 1 at t = 0."""
    t = np.asarray(t, dtype=np.float32)
    angle = np.float32(np.pi) * t
    square = angle * angle
    zero = square == 0.0
    square[zero] = 1.0  # 0/0 at t = 0: its value is set below
    values: np.ndarray = np.sin(angle) * np.sin(angle / np.float32(SUPPORT))
    values *= np.float32(SUPPORT)
    values /= square
    values[zero] = 1.0
    values[(t < -SUPPORT) | (t >= SUPPORT)] = 0.0
    return values


# Each matrix is at most 20 × 1024 float32 (80 kB): 256 of them stay under 21 MB, and a page's
# drawings need a few hundred (a crop's sides vary with what is drawn). A miss builds only the
# band of taps each output pixel has (~20 × 63 for a 280 px side), in a few tens of µs.
@lru_cache(maxsize=256)
def weights(in_size: int, out_size: int) -> np.ndarray:
    """The (out_size, in_size) float32 matrix whose row o holds output pixel o's weights
    (read-only: it is shared by every caller)."""
    scale = in_size / out_size
    stretch = max(scale, 1.0)  # shrinking widens the filter; enlarging doesn't narrow it
    reach = SUPPORT * stretch
    centre = (np.arange(out_size) + 0.5) * scale
    # The pixels whose centres fall within reach, rounded and clipped as Pillow does
    # (C's int() truncates towards zero, as astype does).
    first = np.maximum((centre - reach + 0.5).astype(np.intp), 0)
    stop = np.minimum((centre + reach + 0.5).astype(np.intp), in_size)
    band = 2 * math.ceil(reach) + 1  # the most taps an output pixel has
    xs = first[:, None] + np.arange(band)[None, :]  # (out, band) input pixels
    taps = lanczos((xs - centre[:, None] + 0.5) * (1.0 / stretch))
    taps[xs >= stop[:, None]] = 0.0  # past the edge or the reach: no tap
    total = taps.sum(axis=1, keepdims=True, dtype=np.float64)
    total[total == 0.0] = 1.0  # (never for Lanczos: its centre tap is the largest)
    taps = (taps / total).astype(np.float32)
    matrix = np.zeros((out_size, in_size + band), dtype=np.float32)  # room for xs past the edge
    matrix[np.arange(out_size)[:, None], xs] = taps
    result = np.ascontiguousarray(matrix[:, :in_size])
    result.flags.writeable = False
    return result


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """A (H, W) float32 image resampled to (height, width) with the Lanczos-3 filter: rows
    first, then columns; a side whose size doesn't change is left as it is (as Pillow)."""
    rows, cols = image.shape
    out = image
    if width != cols:
        out = out @ weights(cols, width).T
    if height != rows:
        out = weights(rows, height) @ out
    if out is image:
        return image.copy()
    result: np.ndarray = out.astype(np.float32, copy=False)
    return result

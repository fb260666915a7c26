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
few units in the last place of float32 (tests/data/test_lanczos.py compares them on thousands of
random images).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["SUPPORT", "lanczos", "resize", "weights"]

SUPPORT = 3.0  # Lanczos-3: the kernel is zero from 3 pixels away (at scale 1)


def lanczos(t: np.ndarray) -> np.ndarray:
    """L(t) = sinc(t)·sinc(t/3) on [-3, 3), 0 elsewhere (float64)."""
    inside = (t >= -SUPPORT) & (t < SUPPORT)
    values: np.ndarray = np.where(inside, np.sinc(t) * np.sinc(t / SUPPORT), 0.0)
    return values


# Each matrix is at most 20 × 1024 float32 (80 kB): 128 of them stay under 10 MB. A page's
# drawings need a few dozen (the crop's sides vary with what is drawn).
@lru_cache(maxsize=128)
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
    x = np.arange(in_size)
    taps = lanczos((x[None, :] - centre[:, None] + 0.5) * (1.0 / stretch))
    taps[(x[None, :] < first[:, None]) | (x[None, :] >= stop[:, None])] = 0.0
    total = taps.sum(axis=1, keepdims=True)
    np.divide(taps, total, out=taps, where=total != 0.0)
    matrix = taps.astype(np.float32)
    matrix.flags.writeable = False
    return matrix


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

"""Deslanting by image moments: the input transform a model may be trained for.

Handwriting leans: to the right for most people, to the left for some, and by how much differs
from writer to writer. MNIST's writers lean less than many people who draw on the page. The
"deskewed" MNIST results (LeCun et al.'s table; Ghosh's moment-based deskew) remove the lean
before the network sees a digit: the second-order moments of the ink give its slant,

    slant = mu11 / mu02   (mu11 = Σ I·(x - x̄)(y - ȳ), mu02 = Σ I·(y - ȳ)²),

and a horizontal shear about the centre of mass, out(y, x) = in(y, x + slant·(y - ȳ)), makes
mu11 zero: the digit stands upright. The sheared digit is then re-fitted to MNIST's geometry
(longer side 20 px, centre of mass at the field's centre; preprocess.center_digit), because an
upright digit is narrower than the slanted one was.

A model may also be trained on stroke-normalised digits (app/data/strokes.py, metadata
"strokes": true): model_input applies that first, then deslant. Every input transform a model
reads goes through model_input, in training as in predictions.

The same function runs on both sides: on every training (and test) image of a model trained
with ``deslant`` and on every drawing that model reads. A model without the flag never sees
it, so old and uploaded models keep today's input exactly.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from app.data.preprocess import FIELD, center_digit
from app.data.strokes import restroke

if TYPE_CHECKING:
    from app.data.mnist import MNIST

__all__ = [
    "MAX_SLANT",
    "METADATA_KEY",
    "deslant",
    "expects_deslant",
    "model_input",
    "slant",
    "transform_batch",
    "transformed_array",
    "transformed_data",
    "transformed_rows",
]

# A model file's metadata says `"deslant": true` when the network was trained on deslanted
# images and must be given deslanted ones; without it (every model from before, any uploaded
# model that does not say so) the input is today's pipeline's, untouched.
METADATA_KEY = "deslant"

# The largest shear undone (|dx/dy|): 1.0 is a 45° lean, far beyond handwriting. A digit
# whose moments say more (a horizontal stroke, a blob) is sheared by this at most.
MAX_SLANT = 1.0
# A slant below this moves no row by more than 0.003 px: it is rounding noise in the moments
# (a mirror-symmetric digit's mu11 is 0 up to float32 rounding), not a lean, and shearing by
# it would smear 1e-10 of ink into a neighbouring column, widen the ink box and move the
# re-fitted digit by a pixel.
_MIN_SLANT = 1e-4
# Ink below this mass is not worth measuring (an empty field stays as it is).
_MIN_MASS = 1e-6
_ROWS = np.arange(FIELD, dtype=np.float32)
# Zero columns either side of a row: more than the largest shift (MAX_SLANT · 27 px).
_PAD = FIELD + 1
_WINDOW = np.arange(FIELD + 1)
_LINES = np.arange(FIELD)[:, None]


def _moments(image: np.ndarray) -> tuple[float, float] | None:
    """(slant, centre row) of a (28, 28) float32 image, the slant clipped to ±MAX_SLANT (0
    when the ink has no height); None when it has no ink."""
    row_mass = image.sum(axis=1)
    mass = float(row_mass.sum())
    if not mass > _MIN_MASS:
        return None
    cy = float(row_mass @ _ROWS) / mass
    cx = float(image.sum(axis=0) @ _ROWS) / mass
    dy = _ROWS - np.float32(cy)
    mu02 = float(row_mass @ (dy * dy))
    if mu02 <= _MIN_MASS:
        return 0.0, cy
    mu11 = float(dy @ image @ (_ROWS - np.float32(cx)))
    return min(max(mu11 / mu02, -MAX_SLANT), MAX_SLANT), cy


def slant(image: np.ndarray) -> float:
    """The slant mu11 / mu02 of one 28×28 image (clipped to ±MAX_SLANT): dx per dy,
    negative when the top leans right (rows grow downwards); 0 for an empty image."""
    measured = _moments(np.asarray(image, dtype=np.float32).reshape(FIELD, FIELD))
    return 0.0 if measured is None else measured[0]


def _shear(image: np.ndarray, skew: float, cy: float) -> np.ndarray:
    """out(y, x) = in(y, x + skew·(y - cy)) of a (28, 28) float32 image, linearly
    interpolated; outside the field reads 0. Each row moves by one amount: one gather of
    whole rows plus a blend (as augment.py's shears)."""
    shift = np.float32(skew) * (_ROWS - np.float32(cy))  # |shift| < 28
    whole = np.floor(shift)
    frac = (shift - whole)[:, None]
    padded = np.zeros((FIELD, FIELD + 2 * _PAD), dtype=np.float32)
    padded[:, _PAD : _PAD + FIELD] = image
    columns = (whole.astype(np.intp) + _PAD)[:, None] + _WINDOW[None, :]
    rows = padded[_LINES, columns]  # (28, 29)
    left = rows[:, :FIELD]
    out: np.ndarray = rows[:, 1:] - left
    out *= frac
    out += left
    return out


def deslant(image: np.ndarray) -> np.ndarray:
    """One digit (784,) or (28, 28) in 0..1 → (784,) float32, sheared upright and re-fitted
    to MNIST's geometry (see the module doc). An image with no ink comes back unchanged."""
    grid = np.asarray(image, dtype=np.float32).reshape(FIELD, FIELD)
    measured = _moments(grid)
    if measured is None:
        return grid.reshape(FIELD * FIELD).copy()
    skew, cy = measured
    if abs(skew) < _MIN_SLANT:  # nothing to undo: only re-fitted (as a shear by 0 would be)
        return center_digit(grid).reshape(FIELD * FIELD)
    # A row's ink moves by less than the padding, so ink in stays ink out: never empty.
    return center_digit(_shear(grid, skew, cy)).reshape(FIELD * FIELD)


def transform_batch(images: np.ndarray, deslanted: bool, strokes: bool = False) -> np.ndarray:
    """model_input(image, deslanted, strokes) of every image of (B, 784) or (B, 28, 28) uint8
    (0..255) or float (0..1) → the same shape and dtype (uint8 rounded), in the same scale.
    One image at a time through model_input itself, so training and predictions get exactly
    the same numbers."""
    array = np.asarray(images)
    as_bytes = array.dtype == np.uint8
    flat = array.reshape(len(array), FIELD * FIELD)
    out = np.empty(flat.shape, dtype=np.float32)
    for i, row in enumerate(flat):
        unit = np.divide(row, np.float32(255.0), dtype=np.float32) if as_bytes else row
        out[i] = model_input(unit, deslanted, strokes)
    if as_bytes:
        out = np.rint(out * np.float32(255.0))
    result: np.ndarray = out.astype(array.dtype).reshape(array.shape)
    return result


def expects_deslant(metadata: Mapping[str, object]) -> bool:
    """Whether a model file's metadata asks for deslanted input (only a literal true does)."""
    return metadata.get(METADATA_KEY) is True


def model_input(x: np.ndarray, deslanted: bool, strokes: bool = False) -> np.ndarray:
    """The (784,) input a model reads: `x` (preprocess's output) with its strokes normalised
    (app/data/strokes.py) if the model expects it, then deslanted if it expects that; `x`
    itself (the same array) for a model that expects neither. Stroke normalisation changes
    the digit's box, so it is re-fitted to MNIST's geometry: by deslant's own re-fit, or by
    center_digit alone. A digit whose strokes are already within MNIST's widths gets exactly
    what it would get without the strokes transform."""
    grid = restroke(x) if strokes else None
    if grid is None:
        return deslant(x) if deslanted else x
    return deslant(grid) if deslanted else center_digit(grid).reshape(FIELD * FIELD)


_Key = tuple[int, bool, bool]
_cache: dict[_Key, np.ndarray] = {}
_cache_lock = threading.Lock()


def _cached(key: _Key) -> np.ndarray | None:
    with _cache_lock:
        return _cache.get(key)


def transformed_array(images: np.ndarray, deslanted: bool, strokes: bool = False) -> np.ndarray:
    """transform_batch(images, deslanted, strokes), read-only, once per process per array and
    transform (keyed on the array as app/data/batches.py's prepare_data is; the entry goes
    away with it). MNIST's arrays are shared by everything that loads them, so a training run,
    explain and the CLI share this. ~0.1 ms of one core per image and transform: ~10 s for
    MNIST's 70,000."""
    key = (id(images), deslanted, strokes)
    cached = _cached(key)
    if cached is not None:
        return cached
    result = transform_batch(images, deslanted, strokes)  # outside the lock: others need not wait
    result.flags.writeable = False
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        try:
            weakref.finalize(images, _cache.pop, key, None)
        except TypeError:  # not weak-referenceable: don't cache, an id could be reused
            return result
        _cache[key] = result
        return result


def transformed_rows(
    images: np.ndarray, rows: np.ndarray, deslanted: bool, strokes: bool = False
) -> np.ndarray:
    """transform_batch(images[rows], ...): from the cached whole array when there is one or
    when `rows` are a good part of it (a quarter or more), else just those rows."""
    key = (id(images), deslanted, strokes)
    if _cached(key) is not None or 4 * len(rows) >= len(images):
        picked: np.ndarray = transformed_array(images, deslanted, strokes)[rows]
        return picked
    return transform_batch(images[rows], deslanted, strokes)


def transformed_data(data: MNIST, deslanted: bool, strokes: bool = False) -> MNIST:
    """`data` with every training and test image as a model with these transforms reads it
    (transformed_array: once per process per set of arrays); `data` itself for neither."""
    from app.data.mnist import MNIST  # late: the predict path needs no dataset code

    if not (deslanted or strokes):
        return data
    return MNIST(
        transformed_array(data.train_images, deslanted, strokes),
        data.train_labels,
        transformed_array(data.test_images, deslanted, strokes),
        data.test_labels,
    )

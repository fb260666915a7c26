"""Labelled drawings in a training run (issue 17 §2): the held-out split, fixed for the run,
and how the run's batches draw from the rest.

* The split: a drawing is held out when a stable hash of its id (SHA-256) falls in the lowest
  `HELD_OUT_SHARE` of the range, so a drawing stays on its side as the set grows. With two or
  more drawings at least one is held out and at least one trains (the lowest and the highest
  hash decide); a single drawing trains and nothing is held out.
* `data: "drawings"`: every batch comes from the training drawings, `min(batch_size, n)` of
  them, in shuffled passes; an epoch is one pass over them but at least `DRAWINGS_MIN_STEPS`
  steps (80 drawings in batches of 128 would otherwise be a single step per epoch).
* `data: "mix"`: every batch holds `drawings_per_batch(batch_size, fraction)` drawings drawn
  with replacement and MNIST images for the rest; an epoch is one pass over the MNIST part.

No I/O here: the run manager snapshots the drawings (app/runs/drawing_files.py), the batch
producer (app/data/batches.py) and the trainer use these.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
from typing_extensions import TypedDict  # pydantic reads it as a schema (Python < 3.12)

from app.nn.vocab import INPUT_SIZE, DataMix

HELD_OUT_SHARE = 0.2  # of a run's drawings, by the hash of their ids
DRAWINGS_MIN_STEPS = 10  # steps of an epoch on drawings alone


class DrawingCounts(TypedDict):
    """How many of a run's drawings train and how many are held out (RunInfo `drawings`)."""

    train: int
    held_out: int


@dataclass(frozen=True)
class DrawingSplit:
    """A run's snapshot of labelled drawings, split once: inputs (n, 784) float32 in 0..1,
    labels (n,) int64, and the drawings' ids, for each side."""

    train_x: np.ndarray
    train_y: np.ndarray
    train_ids: tuple[str, ...]
    held_x: np.ndarray
    held_y: np.ndarray
    held_ids: tuple[str, ...]

    def counts(self) -> DrawingCounts:
        return {"train": len(self.train_ids), "held_out": len(self.held_ids)}


def held_out_score(drawing_id: str) -> float:
    """A number in [0, 1) that depends on the id alone (not on the process: no `hash`)."""
    digest = hashlib.sha256(drawing_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_drawings(images: np.ndarray, labels: np.ndarray, ids: tuple[str, ...]) -> DrawingSplit:
    """Split labelled drawings (images (n, 784) in 0..1, labels (n,), ids) as the module doc
    says; the order of each side is the order given (the store's: by creation)."""
    n = len(ids)
    x = np.asarray(images, dtype=np.float32).reshape(n, INPUT_SIZE)
    y = np.asarray(labels, dtype=np.int64).reshape(n)
    scores = np.array([held_out_score(i) for i in ids], dtype=np.float64)
    held = scores < HELD_OUT_SHARE
    if n >= 2:
        held[int(np.argmin(scores))] = True
        held[int(np.argmax(scores))] = False
    else:
        held[:] = False
    train = ~held
    return DrawingSplit(
        train_x=x[train], train_y=y[train], train_ids=tuple(np.array(ids, dtype=object)[train]),
        held_x=x[held], held_y=y[held], held_ids=tuple(np.array(ids, dtype=object)[held]),
    )  # fmt: skip


def drawings_per_batch(batch_size: int, fraction: float) -> int:
    """Drawings in each mix batch: `fraction` of it, at least one, and one MNIST image left."""
    return max(1, min(batch_size - 1, round(fraction * batch_size)))


@dataclass(frozen=True)
class EpochPlan:
    """How a run's epochs are made: steps and samples per epoch, and the drawings a batch
    producer adds (None: MNIST alone)."""

    steps_per_epoch: int
    samples_per_epoch: int
    drawings: DrawingBatches | None


@dataclass(frozen=True)
class DrawingBatches:
    """The drawings a batch producer uses: `per_batch` of them in every MNIST batch (a mix,
    drawn with replacement), or, when `per_batch` is None, batches of `batch_size` drawings
    alone (shuffled passes)."""

    x: np.ndarray
    y: np.ndarray
    per_batch: int | None
    batch_size: int


def epoch_size(
    data: DataMix, batch_size: int, fraction: float, n_mnist: int, n_drawings: int
) -> tuple[int, int]:
    """(steps, samples) of one epoch of a run on `data` with `n_mnist` MNIST training images
    and `n_drawings` training drawings (see the module doc)."""
    if data == "mnist" or n_drawings < 1:
        return math.ceil(n_mnist / batch_size), n_mnist
    if data == "drawings":
        size = min(batch_size, n_drawings)
        steps = max(math.ceil(n_drawings / size), DRAWINGS_MIN_STEPS)
        return steps, steps * size
    share = drawings_per_batch(batch_size, fraction)
    steps = math.ceil(n_mnist / (batch_size - share))
    return steps, n_mnist + steps * share


def epoch_plan(
    data: DataMix, batch_size: int, fraction: float, n_mnist: int, drawings: DrawingSplit | None
) -> EpochPlan:
    """The epochs of a run that trains on `data` with `n_mnist` MNIST training images and the
    training side of `drawings` (ValueError when it needs drawings and has none)."""
    n_drawings = len(drawings.train_y) if drawings is not None else 0
    if data == "mnist":
        return EpochPlan(*epoch_size(data, batch_size, fraction, n_mnist, 0), None)
    if drawings is None or n_drawings < 1:
        raise ValueError(f"data {data!r} needs labelled drawings to train on, and has none")
    if data == "mix" and batch_size < 2:
        raise ValueError("a mix needs batches of at least 2 images (a drawing and an MNIST one)")
    steps, samples = epoch_size(data, batch_size, fraction, n_mnist, n_drawings)
    share = None if data == "drawings" else drawings_per_batch(batch_size, fraction)
    size = min(batch_size, n_drawings) if data == "drawings" else batch_size
    batches = DrawingBatches(drawings.train_x, drawings.train_y, share, size)
    return EpochPlan(steps, samples, batches)

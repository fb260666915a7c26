"""The training data pipeline: MNIST arrays ready for training, the mini-batches of every
epoch in a seeded order, and the augmentation options (distortions made in a background
thread that stays ahead of training). Moved here from app/nn/trainer.py, which re-exports
these names; no NumPy maths of the network here.
"""

from __future__ import annotations

import math
import queue
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from app.data.drawing_mix import DrawingBatches, EpochPlan

if TYPE_CHECKING:
    from app.data.mnist import MNIST

# Augmented batches the producer thread may run ahead of training.
PREFETCH_BATCHES = 8


@dataclass(frozen=True)
class _Prepared:
    """MNIST ready for training: train_pixels (N, 784) uint8 (a view), train_y (N,) int64,
    test_x (n_test, 784) float32 in 0..1, test_y (n_test,) int64. Read-only."""

    train_pixels: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


_prepared_cache: dict[tuple[int, ...], _Prepared] = {}
_prepared_lock = threading.Lock()
_INPUT_SCALE = np.float32(1.0 / 255.0)


def to_inputs(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels (B, 784) or (B, 28, 28) -> network inputs (B, 784) float32 in 0..1.
    B may be 0 (e.g. no validation split): NumPy can't infer a -1 axis from zero rows."""
    rows = pixels.reshape(len(pixels), math.prod(pixels.shape[1:]))
    inputs: np.ndarray = np.multiply(rows, _INPUT_SCALE, dtype=np.float32)
    return inputs


def prepare_data(data: MNIST) -> _Prepared:
    """Labels as int64 and the test images as inputs, once per set of MNIST arrays.

    Training images stay uint8 and each batch is converted when it is drawn: gathering a
    shuffled batch moves a quarter of the bytes, and no 190 MB float copy of the training set
    is kept. load_mnist shares its arrays between the MNIST objects it returns, so keying on
    the arrays lets the runs in one server share this; the entry goes away with the arrays.
    """
    key = (id(data.train_images), id(data.train_labels), id(data.test_images), id(data.test_labels))
    with _prepared_lock:
        cached = _prepared_cache.get(key)
        if cached is not None:
            return cached
        test_x = to_inputs(data.test_images)
        test_x.flags.writeable = False
        prepared = _Prepared(
            train_pixels=data.train_images.reshape(len(data.train_images), -1),
            train_y=np.asarray(data.train_labels, dtype=np.int64),
            test_x=test_x,
            test_y=np.asarray(data.test_labels, dtype=np.int64),
        )
        try:
            for array in (data.train_images, data.train_labels, data.test_images, data.test_labels):
                weakref.finalize(array, _prepared_cache.pop, key, None)
        except TypeError:  # not weak-referenceable: don't cache, an id could be reused
            return prepared
        _prepared_cache[key] = prepared
        return prepared


class AugmentOptions(TypedDict):
    """augment_batch's keyword arguments (app/data/augment.py)."""

    shift: float
    rotate: float
    scale: tuple[float, float]
    shear: float
    thickness: float
    elastic: float
    elastic_sigma: float


def augment_options(strength: float) -> AugmentOptions:
    """Keyword arguments for augment_batch: the training distortions, scaled by `strength`.

    At 1.0: shifts up to ±1.5 px, rotations up to ±7.2°, scaling by 0.93-1.08, shear up to
    ±0.09, stroke thickness ±0.3, and an elastic distortion (Simard et al. 2003) of alpha 34,
    sigma 6 px. Chosen on the validation split for issue 10 (bench/README.md): elastic at full
    alpha with these milder affine distortions beat the earlier stronger affine ones (2.5 px,
    12°, 0.87-1.13, 0.15, 0.5) with or without elastic, a weaker elastic, and sigma 5.
    """
    spread = 0.0733 * strength  # log of the largest scale factor
    return {
        "shift": 1.5 * strength,
        "rotate": 7.2 * strength,
        "scale": (math.exp(-spread), math.exp(spread)),
        "shear": 0.09 * strength,
        "thickness": min(0.3 * strength, 1.0),
        "elastic": 34.0 * strength,
        "elastic_sigma": 6.0,
    }


class BatchProducer:
    """Yields (x, y) mini-batches for one epoch after another, in a seeded order.

    Each epoch draws a permutation and gathers every batch's uint8 rows from it, converting
    them to float32. Measured on full MNIST: ~17 ms per epoch, against ~24 ms for gathering
    float32 rows and 100-500 ms for copying the whole shuffled float32 array (172 MB) once
    per epoch - more than a 3b1b epoch's training takes.

    With `augment`, batches are distorted by `augment_batch` in a background thread that stays
    up to PREFETCH_BATCHES ahead: NumPy releases the GIL for most of that work, so it overlaps
    with the training step (measured, accurate preset, 1 BLAS thread: 0.93 s per epoch against
    1.32 s augmenting inline). The order of batches and augmentations depends only on the
    seed, not on thread timing.
    """

    def __init__(self, pixels: np.ndarray, y: np.ndarray, batch_size: int, epochs: int,
                 seed: int, augment: AugmentOptions | None, skip: int = 0,
                 plan: EpochPlan | None = None) -> None:  # fmt: skip
        """`skip`: leave out the first `skip` batches (a run resumed from a checkpoint); the
        ones after are the batches an uninterrupted run would have drawn. `plan`: labelled
        drawings mixed into every batch, or batches of drawings alone (app/data/drawing_mix.py);
        augmentation distorts them like the MNIST images."""
        self._pixels, self._y = pixels, y
        self._skip = skip
        self._batch_size, self._epochs = batch_size, epochs
        self._plan = plan
        self._rng = np.random.default_rng(seed)
        # The drawings' picks have a generator of their own: MNIST's order stays the seed's.
        self._picks = np.random.default_rng([seed, 2])
        self._augment = augment
        self._queue: queue.Queue[tuple[np.ndarray, np.ndarray] | BaseException | None] = (
            queue.Queue(maxsize=PREFETCH_BATCHES)
        )
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def _plain(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        drawings = self._plan.drawings if self._plan is not None else None
        if self._plan is not None and drawings is not None and drawings.per_batch is None:
            yield from self._drawings_alone(drawings, self._plan.steps_per_epoch)
            return
        share = (drawings.per_batch or 0) if drawings is not None else 0
        n, size = len(self._pixels), self._batch_size - share
        skip = self._skip
        for _ in range(self._epochs):
            order = self._rng.permutation(n)
            for start in range(0, n, size):
                picks = self._picks.integers(len(drawings.y), size=share) if drawings else None
                if skip:
                    skip -= 1
                    continue
                rows = order[start : start + size]
                x, y = to_inputs(self._pixels[rows]), self._y[rows]
                if drawings is not None and picks is not None:
                    x = np.concatenate([x, drawings.x[picks]])
                    y = np.concatenate([y, drawings.y[picks]])
                yield x, y

    def _drawings_alone(
        self, drawings: DrawingBatches, steps_per_epoch: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Batches of `drawings.batch_size` drawings, in shuffled passes over them that run on
        across batches and epochs."""
        n, size = len(drawings.y), drawings.batch_size
        order, at = np.empty(0, dtype=np.int64), 0
        for step in range(self._epochs * steps_per_epoch):
            parts: list[np.ndarray] = []
            need = size
            while need:
                if at == len(order):
                    order, at = self._rng.permutation(n), 0
                take = min(need, n - at)
                parts.append(order[at : at + take])
                at, need = at + take, need - take
            if step < self._skip:
                continue
            rows = np.concatenate(parts)
            yield drawings.x[rows], drawings.y[rows]

    def _augmented(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        from app.data.augment import augment_batch

        options = self._augment
        assert options is not None  # only augmented producers come here
        augment_rng = np.random.default_rng([int(self._rng.integers(2**63)), 1])
        for x, y in self._plain():
            yield augment_batch(x, augment_rng, **options), y

    def _produce(self) -> None:
        try:
            for batch in self._augmented():
                while not self._closed.is_set():
                    try:
                        self._queue.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._closed.is_set():
                    return
            self._put_final(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put_final(exc)

    def _put_final(self, item: BaseException | None) -> None:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if self._augment is None:
            yield from self._plain()
            return
        self._thread = threading.Thread(target=self._produce, name="augment", daemon=True)
        self._thread.start()
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        """Stop the producer thread (if any) and wait for it."""
        self._closed.set()
        if self._thread is not None:
            self._thread.join()

"""TrainConfig.deslant (issue 17 §5): the Trainer trains and evaluates on deslanted digits, and
a model saved from such a run says so in its metadata."""

from __future__ import annotations

import numpy as np

from app.data.batches import to_inputs
from app.data.deslant import expects_deslant, transform_batch
from app.data.mnist import MNIST
from app.nn.serialize import trained_metadata
from app.nn.trainer import TrainConfig, Trainer


def slanted_digits(count: int, seed: int) -> np.ndarray:
    """(count, 28, 28) uint8 bars leaning by random amounts (a 1 written by many hands)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), np.uint8)
    for image, lean in zip(images, rng.uniform(-0.5, 0.5, count), strict=True):
        for row in range(4, 24):
            centre = round(14 + lean * (row - 14))
            image[row, centre - 1 : centre + 2] = 255
    return images


def test_a_deslant_run_reads_deslanted_images() -> None:
    train, test = slanted_digits(40, 0), slanted_digits(10, 1)
    labels = np.arange(40, dtype=np.uint8) % 10
    data = MNIST(train, labels, test, labels[:10])
    plain = Trainer(TrainConfig(layers=[8], epochs=1, validation_size=10), data)
    upright = Trainer(TrainConfig(layers=[8], epochs=1, validation_size=10, deslant=True), data)
    assert np.array_equal(plain.test_x, to_inputs(test))  # unchanged without the flag
    assert np.array_equal(upright.test_x, to_inputs(transform_batch(test, True)))
    assert np.array_equal(upright.val_x, to_inputs(transform_batch(train[30:], True)))
    assert np.array_equal(upright.train_pixels, transform_batch(train[:30], True).reshape(30, 784))
    # A vertical bar after deslanting: every image's ink sits in the same columns all the way.
    for image in upright.train_pixels.reshape(30, 28, 28):
        inked = [np.flatnonzero(row > 127) for row in image if row.max() > 127]
        assert max(c.mean() for c in inked) - min(c.mean() for c in inked) <= 1.0
    assert upright.run() == "finished"


def test_saved_metadata_says_deslant_only_when_trained_so() -> None:
    with_flag = trained_metadata(TrainConfig(deslant=True).to_dict(), None, 1, 0.5)
    without = trained_metadata(TrainConfig().to_dict(), None, 1, 0.5)
    assert with_flag["deslant"] is True and expects_deslant(with_flag)
    assert "deslant" not in without and not expects_deslant(without)

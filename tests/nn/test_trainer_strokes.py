"""TrainConfig.strokes (issue 17 §5): the Trainer trains and evaluates on stroke-normalised
digits (app/data/strokes.py, before deslant when both are on), and a model saved from such a
run says so in its metadata."""

from __future__ import annotations

import numpy as np

from app.data.batches import to_inputs
from app.data.deslant import model_input, transform_batch
from app.data.mnist import MNIST
from app.data.strokes import expects_strokes
from app.nn.serialize import trained_metadata
from app.nn.trainer import TrainConfig, Trainer


def bars(count: int, seed: int) -> np.ndarray:
    """(count, 28, 28) uint8 vertical bars 20 px tall, 1 to 7 px wide (hairlines to blobs)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), np.uint8)
    for image, width in zip(images, rng.integers(1, 8, count), strict=True):
        image[4:24, 14 - width // 2 : 14 - width // 2 + width] = 255
    return images


def test_a_strokes_run_reads_stroke_normalised_images() -> None:
    train, test = bars(40, 0), bars(10, 1)
    labels = np.arange(40, dtype=np.uint8) % 10
    data = MNIST(train, labels, test, labels[:10])
    plain = Trainer(TrainConfig(layers=[8], epochs=1, validation_size=10), data)
    normal = Trainer(TrainConfig(layers=[8], epochs=1, validation_size=10, strokes=True), data)
    both = Trainer(
        TrainConfig(layers=[8], epochs=1, validation_size=10, strokes=True, deslant=True), data
    )
    assert np.array_equal(plain.test_x, to_inputs(test))  # unchanged without the flag
    assert np.array_equal(normal.test_x, to_inputs(transform_batch(test, False, True)))
    assert np.array_equal(normal.val_x, to_inputs(transform_batch(train[30:], False, True)))
    assert np.array_equal(
        normal.train_pixels, transform_batch(train[:30], False, True).reshape(30, 784)
    )
    assert np.array_equal(both.test_x, to_inputs(transform_batch(test, True, True)))
    # One by one through model_input, as predictions are: the same numbers.
    one = np.float32(test[0].reshape(784)) / np.float32(255)
    assert np.array_equal(
        both.test_x[0], np.rint(model_input(one, True, True) * 255) / np.float32(255)
    )

    # Bars 1 to 7 px wide come out closer in width: the spread of the ink per row narrows.
    def spread(images: np.ndarray) -> float:
        ink = images.reshape(len(images), 28, 28)[:, 10:18].astype(np.float64).sum(axis=2) / 255
        return float(np.ptp(ink.mean(axis=1)))

    assert spread(normal.train_pixels) < 0.6 * spread(train[:30])
    assert normal.run() == "finished"


def test_saved_metadata_says_strokes_only_when_trained_so() -> None:
    with_flag = trained_metadata(TrainConfig(strokes=True).to_dict(), None, 1, 0.5)
    without = trained_metadata(TrainConfig().to_dict(), None, 1, 0.5)
    assert with_flag["strokes"] is True and expects_strokes(with_flag)
    assert "strokes" not in without and not expects_strokes(without)

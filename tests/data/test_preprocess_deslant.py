"""Deslanting by moments (app/data/deslant.py): a sheared digit comes back upright.

Expected values are computed here from first principles (a parallelogram drawn with a known
shear; moments summed pixel by pixel in plain Python), not with the module's own helpers.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.data.deslant import (
    deslant,
    expects_deslant,
    model_input,
    transform_batch,
    transformed_array,
    transformed_data,
    transformed_rows,
)
from app.data.mnist import MNIST
from app.data.preprocess import center_digit


def slanted_stroke(shear: float, size: int = 280, half_width: float = 10.0) -> np.ndarray:
    """Ink (size, size): a vertical bar of 2·half_width px whose centre line is
    x = c + shear·(y - c), drawn on a big canvas as the page would (anti-aliasing aside)."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    c = size / 2
    centre_x = c + shear * (ys - c)
    inside = (np.abs(xs - centre_x) <= half_width) & (np.abs(ys - c) <= 0.4 * size)
    return inside.astype(np.float32)


def slanted_zero(shear: float, size: int = 280) -> np.ndarray:
    """Ink (size, size): an elliptical ring (a "0") sheared by `shear` (dx per dy)."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    c = size / 2
    upright_x = xs - c - shear * (ys - c)  # where the pixel came from before the shear
    r = np.sqrt((upright_x / 50.0) ** 2 + ((ys - c) / 100.0) ** 2)
    return ((r > 0.8) & (r < 1.0)).astype(np.float32)


def moment_slant(image: np.ndarray) -> float:
    """mu11 / mu02 of a (28, 28) image, summed pixel by pixel (independent of the module)."""
    grid = np.asarray(image, dtype=np.float64).reshape(28, 28).tolist()
    mass = sum(sum(row) for row in grid)
    cy = sum(y * v for y, row in enumerate(grid) for v in row) / mass
    cx = sum(x * v for row in grid for x, v in enumerate(row)) / mass
    mu11 = sum((y - cy) * (x - cx) * v for y, row in enumerate(grid) for x, v in enumerate(row))
    mu02 = sum((y - cy) ** 2 * v for y, row in enumerate(grid) for v in row)
    return mu11 / mu02


@pytest.mark.parametrize("shear", [-0.5, -0.25, 0.2, 0.45])
@pytest.mark.parametrize("shape", [slanted_stroke, slanted_zero])
def test_a_sheared_digit_comes_back_upright(shape, shear: float) -> None:
    base = center_digit(shape(shear))
    # The drawing really is slanted as drawn (the 28×28 keeps the canvas's slant: the
    # crop and scaling keep dx/dy up to the aspect change, the longer side stays vertical).
    assert abs(moment_slant(base)) > 0.15
    out = deslant(base).reshape(28, 28)
    assert abs(moment_slant(out)) < 0.03
    # Still MNIST's geometry: 20 px on the longer side, centre of mass within half a pixel of
    # (14, 14) (it is placed by whole pixels).
    rows = np.flatnonzero(out.max(axis=1) > 0)
    assert rows[-1] - rows[0] + 1 in (20, 21)
    mass = out.sum()
    assert abs((out.sum(axis=1) * np.arange(28)).sum() / mass - 14) <= 0.5 + 1e-4
    assert abs((out.sum(axis=0) * np.arange(28)).sum() / mass - 14) <= 0.5 + 1e-4
    assert out.min() >= 0 and out.max() == pytest.approx(1.0)


def test_a_sheared_bar_becomes_a_vertical_bar() -> None:
    out = deslant(center_digit(slanted_stroke(0.4))).reshape(28, 28)
    # An upright bar: every inked row's ink sits in the same few columns.
    centres = [(row * np.arange(28)).sum() / row.sum() for row in out if row.sum() > 0.5]
    assert max(centres) - min(centres) < 1.0
    upright = center_digit(slanted_stroke(0.0)).reshape(28, 28)
    assert abs(moment_slant(upright)) < 0.01


def test_an_upright_digit_keeps_its_shape() -> None:
    base = center_digit(slanted_zero(0.0))
    out = deslant(base)
    assert abs(moment_slant(out)) < 0.01
    assert np.abs(out - base.reshape(784)).max() < 0.05


def test_empty_and_batch() -> None:
    empty = np.zeros(784, dtype=np.float32)
    assert np.array_equal(deslant(empty), empty)
    images = np.stack([center_digit(slanted_zero(s)) for s in (-0.3, 0.0, 0.3)])
    as_bytes = np.rint(images * 255).astype(np.uint8)
    batch = transform_batch(as_bytes, True)
    assert batch.dtype == np.uint8 and batch.shape == as_bytes.shape
    one_by_one = np.stack([deslant(b.astype(np.float32) / 255) for b in as_bytes])
    assert np.array_equal(batch, np.rint(one_by_one * 255).reshape(3, 28, 28))
    floats = transform_batch(images.reshape(3, 784), True)
    assert floats.dtype == np.float32
    assert np.allclose(floats, np.stack([deslant(image) for image in images]), atol=1e-6)


def test_only_a_model_that_says_so_is_deslanted() -> None:
    x = center_digit(slanted_zero(0.4)).reshape(784)
    assert expects_deslant({"deslant": True})
    for metadata in ({}, {"deslant": False}, {"deslant": "true"}, {"deslant": 1}):
        assert not expects_deslant(metadata)
    assert model_input(x, False) is x  # today's input, untouched
    assert np.array_equal(model_input(x, True), deslant(x))


def test_deslanted_data_once_per_arrays() -> None:
    rng = np.random.default_rng(0)
    shears = rng.uniform(-0.4, 0.4, 6)
    images = np.stack([np.rint(center_digit(slanted_zero(s)) * 255) for s in shears])
    images = images.astype(np.uint8)
    labels = np.zeros(6, dtype=np.uint8)
    data = MNIST(images, labels, images[:2], labels[:2])
    first = transformed_data(data, True)
    again = transformed_data(data, True)  # cached for the same arrays
    assert again.train_images is first.train_images and again.test_images is first.test_images
    assert first.train_labels is labels
    for image in first.train_images:
        assert abs(moment_slant(image.astype(np.float64) / 255)) < 0.05
    assert not first.train_images.flags.writeable


def test_deslanted_rows_are_the_rows_deslanted() -> None:
    images = np.stack([np.rint(center_digit(slanted_zero(s)) * 255) for s in (-0.4, 0, 0.2, 0.4)])
    images = images.astype(np.uint8)
    few, most = np.array([2]), np.array([0, 1, 3])
    assert np.array_equal(transformed_rows(images, few, True), transform_batch(images[few], True))
    assert np.array_equal(transformed_rows(images, most, True), transform_batch(images, True)[most])
    once = transformed_array(images, True)
    assert transformed_array(images, True) is once  # computed once per array

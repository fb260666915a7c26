"""Stroke-width normalisation (issue 17 §5, app/data/strokes.py): digits drawn with a hairline
or a marker come back at a stroke width within MNIST's, a digit already within it is left
exactly as it was, and batch and one-by-one agree. Shapes are drawn analytically (supersampled
distance fields) and widths measured here in plain NumPy, not with the module."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from app.data.deslant import model_input, transform_batch, transformed_array
from app.data.mnist import load_mnist
from app.data.strokes import (
    TARGET_WIDTH,
    WIDTH_RANGE,
    expects_strokes,
    restroke,
    stroke_width,
)

SUPER = 8  # samples per pixel side


def _samples() -> tuple[np.ndarray, np.ndarray]:
    """(y, x) of the SUPER² sample points of every pixel of the 28×28 field."""
    offsets = (np.arange(SUPER) + 0.5) / SUPER
    points = (np.arange(28)[:, None] + offsets[None, :]).reshape(-1)
    return np.meshgrid(points, points, indexing="ij")


def _coverage(inside: np.ndarray) -> np.ndarray:
    """Pixel coverage of a boolean supersampled mask, scaled so the strongest pixel is 1 (as
    preprocess's output is)."""
    grid = inside.reshape(28, SUPER, 28, SUPER).mean(axis=(1, 3)).astype(np.float32)
    return (grid / grid.max()).reshape(784)


def ring(width: float, outer: float = 10.0) -> np.ndarray:
    """A 0: a ring of `width` px whose outer diameter is 2·outer px, centred at (14, 14)."""
    y, x = _samples()
    distance = np.hypot(y - 14.0, x - 14.0)
    middle = outer - width / 2
    return _coverage(np.abs(distance - middle) <= width / 2)


def polyline(width: float, points: list[tuple[float, float]]) -> np.ndarray:
    """Straight strokes through (x, y) points with round ends, `width` px wide."""
    y, x = _samples()
    near = np.full(x.shape, np.inf)
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy), 0, 1)
        near = np.minimum(near, np.hypot(x - x0 - t * dx, y - y0 - t * dy))
    return _coverage(near <= width / 2)


def ring_width(image: np.ndarray) -> float:
    """A ring's stroke width: its ink over the circumference at its mean radius."""
    grid = np.asarray(image, np.float64).reshape(28, 28)
    mass = grid.sum()
    rows, cols = np.indices((28, 28)) + 0.5
    cy, cx = (grid * rows).sum() / mass, (grid * cols).sum() / mass
    radius = (grid * np.hypot(rows - cy, cols - cx)).sum() / mass
    return float(mass / (2 * math.pi * radius))


SEVEN = [(6.0, 5.0), (21.0, 5.0), (11.0, 24.0)]


@pytest.mark.parametrize("width", [1.5, 2.5, 3.5, 5.0])
def test_the_estimate_reads_rings_at_their_width(width: float) -> None:
    image = ring(width)
    assert ring_width(image) == pytest.approx(width, abs=0.2)  # the shape is what it says
    assert stroke_width(image) == pytest.approx(width, abs=0.25)


@pytest.mark.parametrize("width", [4.0, 5.0, 6.0])
def test_blobs_come_back_at_the_top_of_mnists_widths(width: float) -> None:
    before = ring(width)
    after = model_input(before, False, True)
    assert after.shape == (784,) and after.dtype == np.float32
    assert after.max() == pytest.approx(1.0)
    assert ring_width(after) == pytest.approx(WIDTH_RANGE[1], abs=0.15)
    # Still a 0 of MNIST's geometry: 20 px tall.
    rows = np.flatnonzero(after.reshape(28, 28).max(axis=1) > 0.05)
    assert 19 <= rows[-1] - rows[0] + 1 <= 21


@pytest.mark.parametrize("width", [1.0, 1.3, 1.5, 1.7, 1.8])
def test_thin_strokes_are_left_as_they_are(width: float) -> None:
    # Review (HIGH): a fractional dilation's faint ring widened the box by 2 px, so after the
    # re-fit a 1.8 px ring came out at 1.61 px, thinner than it went in; whole steps made a
    # cliff the page's small drawings fell over (tests/e2e/test_small_digits.py).
    image = ring(width)
    assert restroke(image) is None
    assert model_input(image, False, True) is image


@pytest.mark.parametrize("width", [2.0, 2.5, 3.0])
def test_strokes_within_mnists_widths_are_left_exactly_as_they_are(width: float) -> None:
    image = ring(width)
    assert restroke(image) is None
    assert model_input(image, False, True) is image
    assert np.array_equal(model_input(image, True, True), model_input(image, True))


def test_a_marker_seven_becomes_close_to_one_drawn_at_the_ranges_top() -> None:
    thin, thick = polyline(3.5, SEVEN), polyline(5.5, SEVEN)
    before = float(np.abs(thin - thick).sum())
    after = float(np.abs(model_input(thin, False, True) - model_input(thick, False, True)).sum())
    assert after < 0.5 * before


def test_a_model_without_the_flag_gets_its_input_unchanged() -> None:
    image = polyline(5.5, SEVEN)
    assert model_input(image, False) is image
    assert model_input(image, False, False) is image
    assert np.array_equal(transform_batch(image[None], True, False), model_input(image, True)[None])


def test_batch_equals_one_by_one() -> None:
    floats = np.stack([ring(w) for w in (1.0, 2.5, 4.0, 6.0)] + [polyline(5.5, SEVEN)])
    for flags in ((False, True), (True, True)):
        batch = transform_batch(floats, *flags)
        assert np.array_equal(batch, np.stack([model_input(x, *flags) for x in floats]))
    as_bytes = np.rint(floats * 255).astype(np.uint8).reshape(-1, 28, 28)
    batch = transform_batch(as_bytes, False, True)
    assert batch.dtype == np.uint8 and batch.shape == as_bytes.shape
    one = [model_input(np.float32(x.reshape(784)) / np.float32(255), False, True) for x in as_bytes]
    assert np.array_equal(batch, np.rint(np.stack(one) * 255).astype(np.uint8).reshape(-1, 28, 28))


def test_an_empty_field_stays_empty() -> None:
    empty = np.zeros(784, np.float32)
    assert restroke(empty) is None
    assert np.array_equal(model_input(empty, True, True), empty)


def test_cached_per_array_and_transform() -> None:
    images = np.rint(np.stack([ring(w) for w in (1.0, 6.0)]) * 255).astype(np.uint8)
    both = transformed_array(images, True, True)
    assert transformed_array(images, True, True) is both  # once per array and transform
    assert not both.flags.writeable
    assert not np.array_equal(both, transformed_array(images, True, False))


def test_expects_strokes_only_for_a_literal_true() -> None:
    assert expects_strokes({"strokes": True})
    for value in (None, 1, "true", False):
        assert not expects_strokes({"strokes": value})
    assert not expects_strokes({})


def test_the_constants_are_mnists_widths(mnist_dir: Path) -> None:
    """TARGET_WIDTH and WIDTH_RANGE are the median and the 10th/90th percentiles of MNIST's
    training digits' stroke widths."""
    images = load_mnist(mnist_dir).train_images.reshape(-1, 784)
    widths = [stroke_width(x.astype(np.float32) / np.float32(255)) for x in images]
    low, median, high = np.percentile(widths, [10, 50, 90])
    assert median == pytest.approx(TARGET_WIDTH, abs=0.05)
    assert (low, high) == pytest.approx(WIDTH_RANGE, abs=0.05)

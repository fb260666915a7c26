"""The Lanczos resize (app/data/lanczos.py) against Pillow's, which it replaces, and the
centring that uses it (preprocess.center_digit) on digits whose centre is a tie.

Pillow is the oracle: `Image.resize(..., LANCZOS)` on mode "F" computes the same filter pixel
by pixel in C with float64 sums; ours are float32 matrix products, so the two agree to within
float32 rounding, not bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.data.lanczos import resize, weights
from app.data.preprocess import BOX, center_digit


def pillow(image: np.ndarray, width: int, height: int) -> np.ndarray:
    resized = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32), mode="F").resize(
        (width, height), Image.Resampling.LANCZOS
    )
    return np.asarray(resized, dtype=np.float32)


def test_agrees_with_pillow_on_random_crops_scaled_to_the_box() -> None:
    rng = np.random.default_rng(7)
    worst = 0.0
    for _ in range(400):
        height, width = (int(v) for v in rng.integers(1, 360, size=2))
        ink = rng.random((height, width)) * (rng.random((height, width)) < 0.4)
        ink = ink.astype(np.float32)
        scale = BOX / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        ours = resize(ink, *size)
        assert ours.shape == (size[1], size[0]) and ours.dtype == np.float32
        worst = max(worst, float(np.abs(ours - pillow(ink, *size)).max()))
    assert worst < 2e-6


@pytest.mark.parametrize(
    ("shape", "size"), [((5, 9), (20, 11)), ((28, 28), (20, 20)), ((1, 1), (20, 20))]
)
def test_agrees_with_pillow_when_enlarging(shape: tuple[int, int], size: tuple[int, int]) -> None:
    ink = np.random.default_rng(1).random(shape).astype(np.float32)
    assert np.abs(resize(ink, *size) - pillow(ink, *size)).max() < 2e-6


def test_a_side_that_keeps_its_size_is_not_filtered() -> None:
    ink = np.random.default_rng(2).random((20, 13)).astype(np.float32)
    same = resize(ink, 13, 20)
    assert np.array_equal(same, ink) and same is not ink  # a copy, as Pillow's
    tall = resize(ink, 13, 10)  # only the rows are resampled: Pillow skips the other pass too
    assert np.abs(tall - pillow(ink, 13, 10)).max() < 2e-6


def test_weights_are_normalised_shared_and_read_only() -> None:
    matrix = weights(208, 20)
    assert matrix.shape == (20, 208)
    assert np.allclose(matrix.sum(axis=1), 1.0, atol=1e-6)
    assert weights(208, 20) is matrix
    with pytest.raises(ValueError):
        matrix[0, 0] = 1.0
    # Lanczos-3 shrinking 208 → 20 reaches 3 · 10.4 px either side of a pixel's centre.
    reach = np.flatnonzero(matrix[10])
    assert 60 <= reach.size <= 64


def mirrored_ring(width: float, height: float) -> np.ndarray:
    """A ring symmetric about both axes of a 280×280 canvas: its centre of mass is exactly
    between two pixels after scaling, so only rounding decides where centring puts it."""
    ys, xs = np.mgrid[0:280, 0:280].astype(np.float64)
    r = np.sqrt(((xs - 139.5) / width) ** 2 + ((ys - 139.5) / height) ** 2)
    return ((r > 0.7) & (r < 1.0)).astype(np.float32)


@pytest.mark.parametrize(("width", "height"), [(50, 100), (60, 90), (100, 100), (100, 40)])
def test_centring_a_centred_digit_again_leaves_it_where_it_is(width: int, height: int) -> None:
    # Deslant re-centres every digit it reads; a digit already upright must not move.
    once = center_digit(mirrored_ring(width, height))
    twice = center_digit(once.reshape(28, 28))
    assert np.array_equal(twice, once)

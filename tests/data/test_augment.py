"""Training augmentation: the fast warp against plain bilinear sampling, and its properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.data.augment import affine_warp, augment_batch
from app.data.mnist import load_mnist_test

NO_DISTORTION = {"shift": 0.0, "rotate": 0.0, "scale": (1.0, 1.0), "shear": 0.0, "thickness": 0.0}


@pytest.fixture(scope="module")
def digits(mnist_dir: Path) -> np.ndarray:
    images, _ = load_mnist_test(mnist_dir, download=False)
    return images[:512].reshape(-1, 784).astype(np.float32) / 255.0


def _reference_warp(image: np.ndarray, matrix: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Per-pixel bilinear sampling at M @ (p - c) + c + o: slow, but obviously right."""
    source = image.reshape(28, 28).astype(np.float64)
    out = np.zeros((28, 28))
    centre = 13.5
    for y in range(28):
        for x in range(28):
            sy, sx = matrix @ np.array([y - centre, x - centre]) + centre + offset
            y0, x0 = int(np.floor(sy)), int(np.floor(sx))
            fy, fx = sy - y0, sx - x0
            for yy, xx, weight in (
                (y0, x0, (1 - fy) * (1 - fx)),
                (y0, x0 + 1, (1 - fy) * fx),
                (y0 + 1, x0, fy * (1 - fx)),
                (y0 + 1, x0 + 1, fy * fx),
            ):
                if 0 <= yy < 28 and 0 <= xx < 28:
                    out[y, x] += weight * source[yy, xx]
    return out.reshape(784)


def _rotation_scale(degrees: float, factor: float, skew: float = 0.0) -> np.ndarray:
    theta = np.deg2rad(degrees)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return np.linalg.inv(factor * rotation @ np.array([[1.0, 0.0], [skew, 1.0]]))


@pytest.mark.parametrize(
    ("degrees", "factor", "skew", "offset"),
    [(12, 1.0, 0.0, (0.0, 0.0)), (-15, 1.15, 0.1, (1.3, -2.2)), (8, 0.85, -0.15, (-2.5, 0.7))],
)
def test_fast_warp_matches_per_pixel_bilinear(
    digits: np.ndarray, degrees: float, factor: float, skew: float, offset: tuple[float, float]
) -> None:
    matrix = _rotation_scale(degrees, factor, skew)
    images = digits[:4]
    fast = affine_warp(images, np.repeat(matrix[None], 4, 0), np.tile(offset, (4, 1)))
    for image, result in zip(images, fast, strict=True):
        expected = _reference_warp(image, matrix, np.array(offset))
        assert np.corrcoef(result, expected)[0, 1] > 0.98
        assert abs(result.sum() / expected.sum() - 1) < 0.03
        assert np.abs(result - expected).max() < 0.3  # three small blurs vs one: not exact


def test_whole_pixel_translation_is_exact(digits: np.ndarray) -> None:
    moved = affine_warp(digits[:3], np.repeat(np.eye(2)[None], 3, 0), np.tile([2.0, -3.0], (3, 1)))
    # out(y, x) = in(y + 2, x - 3): up 2 rows, right 3 columns, zeros coming in.
    expected = np.zeros((3, 28, 28), dtype=np.float32)
    expected[:, :26, 3:] = digits[:3].reshape(3, 28, 28)[:, 2:, :25]
    np.testing.assert_allclose(moved.reshape(3, 28, 28), expected, atol=1e-6)


def test_chunked_work_matches_image_by_image(digits: np.ndarray) -> None:
    rng = np.random.default_rng(5)
    count = 300  # more than one internal chunk
    draws = rng.uniform((-15, 0.85), (15, 1.15), (count, 2))
    matrices = np.stack([_rotation_scale(degrees, factor) for degrees, factor in draws])
    offsets = rng.uniform(-2, 2, (count, 2))
    images = np.concatenate([digits, digits])[:count]
    together = affine_warp(images, matrices, offsets)
    for index in (0, 127, 128, 255, 256, 299):
        one = slice(index, index + 1)
        alone = affine_warp(images[one], matrices[one], offsets[one])
        np.testing.assert_allclose(together[index], alone[0], atol=1e-6)


def test_no_distortion_is_the_identity(digits: np.ndarray) -> None:
    out = augment_batch(digits, np.random.default_rng(0), **NO_DISTORTION)
    np.testing.assert_allclose(out, digits, atol=1e-6)


def test_shape_dtype_range_and_input_untouched(digits: np.ndarray) -> None:
    before = digits.copy()
    out = augment_batch(digits, np.random.default_rng(0))
    assert out.shape == digits.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(digits, before)
    assert augment_batch(digits[:0], np.random.default_rng(0)).shape == (0, 784)


def test_seeded_and_deterministic(digits: np.ndarray) -> None:
    first = augment_batch(digits, np.random.default_rng(42))
    again = augment_batch(digits, np.random.default_rng(42))
    other = augment_batch(digits, np.random.default_rng(43))
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).mean() > 0.01


def test_changes_images_but_keeps_the_digit(digits: np.ndarray) -> None:
    out = augment_batch(digits, np.random.default_rng(1))
    change = np.abs(out - digits).mean(axis=1)
    assert np.mean(change > 0.02) > 0.95  # nearly every image really moved
    mass = out.sum(axis=1) / digits.sum(axis=1)
    # Thicker strokes and a bigger scale may double the ink; nothing is blanked or smeared.
    assert mass.min() > 0.4 and mass.max() < 2.5 and 0.9 < mass.mean() < 1.3
    assert out.max(axis=1).min() > 0.5  # every image still has solid ink
    grid = out.reshape(-1, 28, 28)
    edges = [0, 1, 26, 27]
    border = grid[:, edges, :].sum(axis=(1, 2)) + grid[:, :, edges].sum(axis=(1, 2))
    assert border.sum() / out.sum() < 0.03  # digits stay on the field, near its middle


@pytest.mark.parametrize(("factor", "low", "high"), [(1.15, 1.2, 1.45), (0.85, 0.6, 0.82)])
def test_scale_changes_the_area(digits: np.ndarray, factor: float, low: float, high: float) -> None:
    options = {**NO_DISTORTION, "scale": (factor, factor)}
    out = augment_batch(digits, np.random.default_rng(0), **options)
    ratio = float(out.sum() / digits.sum())  # ink area grows with the square of the scale
    assert low < ratio < high


def test_thickness_thickens_and_thins(digits: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    out = augment_batch(digits, rng, **{**NO_DISTORTION, "thickness": 1.0})
    ratio = out.sum(axis=1) / digits.sum(axis=1)
    assert ratio.min() < 0.85 and ratio.max() > 1.3
    assert np.corrcoef(out.ravel(), digits.ravel())[0, 1] > 0.9  # same digits, other strokes


def test_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\(B, 784\)"):
        augment_batch(np.zeros((4, 28, 28), dtype=np.float32), np.random.default_rng(0))

"""Elastic distortions (Simard et al. 2003): the displacement fields and the bilinear sampler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.data.augment import augment_batch, elastic_fields, sample_bilinear
from app.data.mnist import load_mnist_test

NO_DISTORTION = {"shift": 0.0, "rotate": 0.0, "scale": (1.0, 1.0), "shear": 0.0, "thickness": 0.0}
ONLY_ELASTIC = {**NO_DISTORTION, "elastic": 34.0, "elastic_sigma": 5.0}


@pytest.fixture(scope="module")
def digits(mnist_dir: Path) -> np.ndarray:
    images, _ = load_mnist_test(mnist_dir, download=False)
    return images[:256].reshape(-1, 784).astype(np.float32) / 255.0


def _identity_grid(count: int) -> np.ndarray:
    y, x = np.meshgrid(np.arange(28.0), np.arange(28.0), indexing="ij")
    return np.repeat(np.stack([y, x])[None], count, 0).astype(np.float32)


def _reference_sample(image: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Per-pixel bilinear sampling with zeros outside: slow, but obviously right."""
    source = image.reshape(28, 28).astype(np.float64)
    out = np.zeros((28, 28))
    for y in range(28):
        for x in range(28):
            sy, sx = float(where[0, y, x]), float(where[1, y, x])
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


def test_sampling_at_the_pixels_is_the_identity(digits: np.ndarray) -> None:
    np.testing.assert_array_equal(sample_bilinear(digits, _identity_grid(len(digits))), digits)


def test_sampling_matches_per_pixel_bilinear(digits: np.ndarray) -> None:
    rng = np.random.default_rng(3)
    # Coordinates anywhere from well outside the image to well past it on the other side.
    where = _identity_grid(3) + rng.uniform(-6, 6, (3, 2, 28, 28)).astype(np.float32)
    fast = sample_bilinear(digits[:3], where)
    for image, coords, result in zip(digits[:3], where, fast, strict=True):
        np.testing.assert_allclose(result, _reference_sample(image, coords), atol=1e-5)


def test_whole_pixel_displacement_moves_the_digit(digits: np.ndarray) -> None:
    where = _identity_grid(2)
    where[:, 0] += 2.0  # out(y, x) = in(y + 2, x - 3): up 2 rows, right 3 columns
    where[:, 1] -= 3.0
    moved = sample_bilinear(digits[:2], where).reshape(2, 28, 28)
    expected = np.zeros((2, 28, 28), dtype=np.float32)
    expected[:, :26, 3:] = digits[:2].reshape(2, 28, 28)[:, 2:, :25]
    np.testing.assert_allclose(moved, expected, atol=1e-6)


def test_alpha_zero_is_the_identity(digits: np.ndarray) -> None:
    fields = elastic_fields(8, np.random.default_rng(0), alpha=0.0, sigma=5.0)
    assert fields.shape == (8, 2, 28, 28) and fields.dtype == np.float32
    assert not fields.any()
    # The elastic path of augment_batch with (almost) no displacement changes nothing.
    options = {**ONLY_ELASTIC, "elastic": 1e-9}
    out = augment_batch(digits, np.random.default_rng(0), **options)
    np.testing.assert_allclose(out, digits, atol=1e-5)


def _simard_rms(alpha: float, sigma: float) -> float:
    """RMS displacement of Simard's recipe (uniform -1..1 noise on every pixel, a normalised
    Gaussian blur, times alpha), in the middle 8×8 pixels, from the variance formula."""
    distance = np.arange(28)[:, None] - np.arange(28)[None, :]
    kernel = np.exp(-0.5 * (distance / sigma) ** 2)
    kernel /= kernel.sum(axis=1, keepdims=True)
    squares = (kernel**2).sum(axis=1)[10:18]  # per output row: sum of squared weights
    variance = alpha**2 / 3.0 * np.outer(squares, squares)
    return float(np.sqrt(variance.mean()))


@pytest.mark.parametrize(("alpha", "sigma"), [(34.0, 4.0), (34.0, 5.0), (20.0, 6.0)])
def test_fields_are_as_large_as_simards(alpha: float, sigma: float) -> None:
    fields = elastic_fields(4000, np.random.default_rng(1), alpha=alpha, sigma=sigma)
    middle = fields[:, :, 10:18, 10:18]
    rms = float(np.sqrt((middle.astype(np.float64) ** 2).mean()))
    assert abs(rms / _simard_rms(alpha, sigma) - 1) < 0.08
    assert abs(float(middle.mean())) < 0.05  # no drift in any direction


def test_fields_are_smooth() -> None:
    fields = elastic_fields(500, np.random.default_rng(2), alpha=34.0, sigma=5.0)
    size = np.abs(fields).mean()
    step_y = np.abs(np.diff(fields, axis=2)).mean()
    step_x = np.abs(np.diff(fields, axis=3)).mean()
    # Neighbours move almost together (Gaussian correlation at 1 px for sigma 5: 0.99, so a
    # step is ~0.14 of the field); independent noise would give steps larger than the field.
    assert step_y < 0.25 * size and step_x < 0.25 * size


def test_ink_is_roughly_preserved(digits: np.ndarray) -> None:
    out = augment_batch(digits, np.random.default_rng(4), **ONLY_ELASTIC)
    assert np.mean(np.abs(out - digits).mean(axis=1) > 0.02) > 0.9  # the digits did change
    mass = out.sum(axis=1) / digits.sum(axis=1)
    # Local stretching and squeezing change a few digits' ink by up to a half; most by much
    # less, and on average nothing.
    assert 0.95 < mass.mean() < 1.05 and mass.min() > 0.5 and mass.max() < 1.7
    assert np.mean((mass > 0.75) & (mass < 1.3)) > 0.9
    # Local displacements, not a move: the centre of mass stays within about a pixel.
    grid = np.arange(28.0)

    def centre(images: np.ndarray) -> np.ndarray:
        pictures = images.reshape(-1, 28, 28)
        total = pictures.sum(axis=(1, 2))
        return np.stack(
            [(pictures.sum(axis=2) @ grid) / total, (pictures.sum(axis=1) @ grid) / total], 1
        )

    assert np.abs(centre(out) - centre(digits)).mean() < 1.0


def test_seeded_shape_dtype_range_and_input_untouched(digits: np.ndarray) -> None:
    before = digits.copy()
    options = {"elastic": 34.0, "elastic_sigma": 5.0}  # with the default affine distortions
    first = augment_batch(digits, np.random.default_rng(42), **options)
    again = augment_batch(digits, np.random.default_rng(42), **options)
    other = augment_batch(digits, np.random.default_rng(43), **options)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).mean() > 0.01
    assert first.shape == digits.shape and first.dtype == np.float32
    assert first.min() >= 0.0 and first.max() <= 1.0
    np.testing.assert_array_equal(digits, before)
    assert augment_batch(digits[:0], np.random.default_rng(0), **options).shape == (0, 784)


def test_each_image_is_sampled_on_its_own(digits: np.ndarray) -> None:
    rng = np.random.default_rng(6)
    where = _identity_grid(300) + rng.normal(0, 2, (300, 2, 28, 28)).astype(np.float32)
    images = np.concatenate([digits, digits])[:300]
    together = sample_bilinear(images, where)
    for index in (0, 127, 128, 299):
        one = slice(index, index + 1)
        np.testing.assert_array_equal(together[index], sample_bilinear(images[one], where[one])[0])


def test_training_augments_elastically_in_the_producer_thread(
    digits: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import app.data.augment as augment
    from app.nn.trainer import BatchProducer, augment_options

    options = augment_options(1.0)
    assert options["elastic"] > 0 and options["elastic_sigma"] > 0
    assert augment_options(0.5)["elastic"] == pytest.approx(options["elastic"] / 2)
    calls: list[tuple[str, float]] = []
    real = augment.augment_batch

    def spy(images: np.ndarray, rng: np.random.Generator, **kwargs: float) -> np.ndarray:
        calls.append((threading.current_thread().name, kwargs["elastic"]))
        return real(images, rng, **kwargs)

    monkeypatch.setattr(augment, "augment_batch", spy)
    pixels = (digits * 255).astype(np.uint8)
    producer = BatchProducer(pixels, np.zeros(len(pixels), np.int64), 64, 1, 0, options)
    try:
        batches = list(producer)
    finally:
        producer.close()
    assert len(batches) == 4 and len(calls) == 4
    assert {name for name, _ in calls} == {"augment"} != {threading.current_thread().name}
    assert all(elastic == options["elastic"] for _, elastic in calls)

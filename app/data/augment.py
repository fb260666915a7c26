"""Random distortions of MNIST digits for training, vectorised over the batch.

A network trained only on perfectly centred MNIST digits does badly on what people draw;
small random shifts, rotations, scalings, shears and stroke-thickness changes close much of
that gap. Training throughput matters (the ``accurate`` preset trains with this on), so an
affine warp is split into three cheap passes instead of sampling every pixel bilinearly:

    M = D · Hy · Hx   (D: scale per axis, Hy: vertical shear, Hx: horizontal shear)

The D pass (with the translation) is separable: two batched small matrix products. Each
shear pass shifts every row (or column) by its own sub-pixel amount: one gather of whole
rows plus a linear blend. Every NumPy call works on whole rows of a chunk of images, never
on single pixels: measured 3-5x faster than gathering four neighbours per pixel. The
price: three linear interpolations instead of one, slightly softer (tests bound the
difference).

Elastic distortions (Simard et al. 2003) move every part of a digit its own smooth way, which
affine maps cannot: ``elastic_fields`` draws the displacement fields, and with them on the
affine map and the field are sampled together in one bilinear pass (``sample_bilinear``: four
gathers per pixel). That pass costs about as much as the three affine passes; the fields, drawn
on a 14×14 grid, a third of that again.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["affine_warp", "augment_batch", "elastic_fields", "sample_bilinear"]

SIDE = 28
_CENTRE = (SIDE - 1) / 2.0  # pixel-index coordinates of the image centre
# The intermediate images reach _MARGIN px past the field on each side, so ink that a later
# shear brings back into view is not lost on the way.
_MARGIN = 3
_BIG = SIDE + 2 * _MARGIN
_PAD = 8  # zero columns either side of a row; shear shifts are clipped to ±(_PAD - 1)
_POS = np.arange(SIDE, dtype=np.float32) - _CENTRE  # output positions, centred
_BIG_POS = np.arange(-_MARGIN, SIDE + _MARGIN, dtype=np.float32) - _CENTRE
_GRID = np.stack(np.meshgrid(_POS, _POS, indexing="ij"))  # (2, 28, 28): centred (y, x)
_NOISE_STEP = 2  # elastic noise is drawn on every other pixel (see _smoothing_matrix)
_PADDED = SIDE + 2  # sample_bilinear reads images with one zero pixel around them
# Images per pass: big enough to amortise NumPy's per-call cost, small enough that every
# intermediate array stays in the CPU cache (larger chunks measured 2-4× slower).
_CHUNK = 128


def _bilinear_matrices(scale: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """(B, 34, 28) float32 R with (R @ v)[i] = v at scale·p_i + c + offset, bilinearly.

    p_i runs over the centred positions -16.5..16.5 (the field plus _MARGIN either side);
    samples outside the source's 0..27 read zeros. Each row has at most two non-zero
    weights, written directly rather than computed for all 28 columns.
    """
    count = scale.shape[0]
    where = scale[:, None] * _BIG_POS[None, :] + (_CENTRE + offset)[:, None]  # (B, 34)
    whole = np.floor(where)
    frac = (where - whole).astype(np.float32)
    column = whole.astype(np.intp)
    weights = np.zeros((count, _BIG, SIDE + 2), dtype=np.float32)
    # Columns shifted by one so that "just left of the image" (-1) has a slot to land in;
    # positions further out are parked there or past the right edge with the weights
    # they would give, and sliced off below.
    column = np.clip(column + 1, 0, SIDE)
    row_start = np.arange(count * _BIG).reshape(count, _BIG) * (SIDE + 2)
    flat = weights.reshape(-1)
    outside = (where < -1) | (where >= SIDE)
    flat[row_start + column] = np.where(outside, 0.0, 1.0 - frac)
    flat[row_start + column + 1] = np.where(outside, 0.0, frac)
    return weights[:, :, 1 : SIDE + 1]


def _shift_rows(padded: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """(B, R, 28): line r of image b at positions x + shift[b, r], linearly interpolated.

    ``padded`` is (B, R, 34 + 2·_PAD): each line holds positions -3..30 from column _PAD,
    zeros around them. ``shift`` is (B, R). The result covers positions 0..27.
    """
    count, lines = shift.shape
    shift = np.clip(shift, -(_PAD - 1), _PAD - 1.001)
    whole = np.floor(shift)
    frac = (shift - whole).astype(np.float32)[..., None]
    start = whole.astype(np.intp) + (_PAD + _MARGIN)
    # Gather 29 consecutive values per line (whole lines, not single pixels: that is the
    # speed; gathering single pixels by index measured 3x slower), then blend neighbours.
    windows = sliding_window_view(padded, SIDE + 1, axis=2)
    rows = windows[np.arange(count)[:, None], np.arange(lines)[None, :], start]
    left = rows[..., :SIDE]
    blended: np.ndarray = rows[..., 1:] - left
    blended *= frac
    blended += left
    return blended


def _warp_chunk(images: np.ndarray, matrices: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    count = images.shape[0]
    m00, m01 = matrices[:, 0, 0], matrices[:, 0, 1]
    m10, m11 = matrices[:, 1, 0], matrices[:, 1, 1]
    # M = diag(sy, sx) · [[1, h], [0, 1]] · [[1, 0], [k, 1]]  (in (y, x) order).
    sx = m11
    k = m10 / m11
    sy = (m00 * m11 - m01 * m10) / m11
    h = m01 / sy
    f32 = np.float32
    rx = _bilinear_matrices(sx.astype(f32), offsets[:, 1].astype(f32))
    ry = _bilinear_matrices(sy.astype(f32), offsets[:, 0].astype(f32))
    inner = slice(_PAD, _PAD + _BIG)

    # Pass 1, scale and translate: A = Ry · X · Rxᵀ on the field plus margins, computed
    # transposed (Aᵀ = Rx · Xᵀ · Ryᵀ) so that the vertical shear is a shift of rows.
    a_t = np.zeros((count, _BIG, _BIG + 2 * _PAD), dtype=f32)
    x = images.reshape(count, SIDE, SIDE)
    np.matmul(rx, np.matmul(x.transpose(0, 2, 1), ry.transpose(0, 2, 1)), out=a_t[:, :, inner])
    # Pass 2, vertical shear: B(y, x) = A(y + h·(x - c), x) for y in the field, x in the
    # field plus margins; copied back untransposed for the last pass.
    b = np.zeros((count, SIDE, _BIG + 2 * _PAD), dtype=f32)
    b_t = _shift_rows(a_t, h.astype(f32)[:, None] * _BIG_POS[None, :])
    b[:, :, inner] = b_t.transpose(0, 2, 1)
    # Pass 3, horizontal shear: out(y, x) = B(y, x + k·(y - c)).
    out = _shift_rows(b, k.astype(f32)[:, None] * _POS[None, :])
    return out.reshape(count, SIDE * SIDE)


def affine_warp(images: np.ndarray, matrices: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Warp each 28×28 image by its own affine map: (B, 784) -> (B, 784) float32.

    Output pixel (y, x) takes the input at ``M @ ((y, x) - c) + c + o`` (c = 13.5, the
    centre; ``matrices`` (B, 2, 2) holds M, ``offsets`` (B, 2) holds o, both in (y, x)
    order), interpolated linearly; outside the image is 0. M must be near a rotation/scale
    (|shear| < 0.5, scale 0.5..2), as augmentation uses.
    """
    x = np.asarray(images, dtype=np.float32)
    matrices = np.asarray(matrices, dtype=np.float64)
    offsets = np.asarray(offsets, dtype=np.float64)
    out = np.empty_like(x)
    for start in range(0, x.shape[0], _CHUNK):
        part = slice(start, start + _CHUNK)
        out[part] = _warp_chunk(x[part], matrices[part], offsets[part])
    return out


def _smoothing_matrix(sigma: float) -> np.ndarray:
    """(28, 14) float32 C: C @ n @ Cᵀ is noise ``n`` on every other pixel (a 14×14 grid)
    smoothed by a Gaussian of ``sigma`` px onto the 28×28 field.

    The rows of the full 28×28 Gaussian (normalised to sum 1), keeping every other column and
    scaled by √2 per axis so the field has the same spread as noise on every pixel smoothed
    the same way. For sigma ≥ 2 px the result is indistinguishable; it draws a quarter of the
    random numbers, which were most of the cost.
    """
    distance = np.arange(SIDE)[:, None] - np.arange(SIDE)[None, :]
    kernel = np.exp(-0.5 * (distance / sigma) ** 2)
    kernel /= kernel.sum(axis=1, keepdims=True)
    matrix: np.ndarray = (kernel[:, ::_NOISE_STEP] * np.sqrt(_NOISE_STEP)).astype(np.float32)
    return matrix


def elastic_fields(count: int, rng: np.random.Generator, alpha: float, sigma: float) -> np.ndarray:
    """Random smooth displacement fields (count, 2, 28, 28) float32, (dy, dx) in pixels.

    Simard et al. 2003: uniform noise in -1..1 for each axis, smoothed by a Gaussian of
    ``sigma`` px (separable: two small matrix products) and scaled by ``alpha``. With sigma
    4-6 and alpha ~34, pixels move by 1-3 px, each part of the digit its own way.
    """
    side = SIDE // _NOISE_STEP
    noise = rng.random((count * 2, side, side), dtype=np.float32)
    noise -= np.float32(0.5)  # uniform in -1..1 once doubled below
    smooth_matrix = _smoothing_matrix(sigma)
    fields: np.ndarray = np.matmul(np.matmul(smooth_matrix, noise), smooth_matrix.T)
    fields *= np.float32(2.0 * alpha)
    return fields.reshape(count, 2, SIDE, SIDE)


def sample_bilinear(images: np.ndarray, where: np.ndarray) -> np.ndarray:
    """(B, 784) float32: each output pixel reads its image at ``where`` (B, 2, 28, 28), (y, x)
    pixel-index coordinates, interpolated bilinearly; outside the image reads 0."""
    count = images.shape[0]
    padded = np.zeros((count, _PADDED, _PADDED), dtype=np.float32)
    padded[:, 1:-1, 1:-1] = images.reshape(count, SIDE, SIDE)
    flat = padded.reshape(-1)
    # -1 and 28 are the zero border: coordinates beyond it are parked on it (weight to zeros).
    if count * _PADDED * _PADDED >= 2**24:
        raise ValueError("sample_bilinear works on at most 18,000 images at a time")
    where = np.clip(where, np.float32(-1.0), np.float32(SIDE - 1e-3))
    whole = np.floor(where)
    frac = where - whole
    fy, fx = frac[:, 0].reshape(-1), frac[:, 1].reshape(-1)
    # Flat index of the top-left neighbour, computed in float32 (exact below 2**24) and
    # converted once: integer arithmetic on the index arrays measured slower.
    base = np.arange(count, dtype=np.float32)[:, None, None] * np.float32(_PADDED * _PADDED)
    corner = (whole[:, 0] + 1) * np.float32(_PADDED) + (whole[:, 1] + 1) + base
    top_left = corner.reshape(-1).astype(np.intp)
    top = np.take(flat, top_left)
    top += (np.take(flat, top_left + 1) - top) * fx
    bottom = np.take(flat, top_left + _PADDED)
    bottom += (np.take(flat, top_left + _PADDED + 1) - bottom) * fx
    bottom -= top
    bottom *= fy
    top += bottom
    out: np.ndarray = top.reshape(count, SIDE * SIDE)
    return out


def _affine_coordinates(matrices: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(B, 2, 28, 28) float32 source coordinates M @ (p - c) + c + o, as affine_warp uses."""
    m = matrices.astype(np.float32)
    shift = (offsets + _CENTRE).astype(np.float32)[:, :, None, None]
    coords: np.ndarray = np.einsum("bij,jyx->biyx", m, _GRID) + shift
    return coords


def _elastic_warp(
    x: np.ndarray, matrices: np.ndarray, offsets: np.ndarray, fields: np.ndarray
) -> np.ndarray:
    """The affine maps and the displacement fields in one bilinear sampling pass."""
    out = np.empty_like(x)
    for start in range(0, x.shape[0], _CHUNK):
        part = slice(start, start + _CHUNK)
        where = _affine_coordinates(matrices[part], offsets[part]) + fields[part]
        out[part] = sample_bilinear(x[part], where)
    return out


def _random_maps(
    count: int,
    rng: np.random.Generator,
    shift: float,
    rotate: float,
    scale: tuple[float, float],
    shear: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Random inverse maps for affine_warp: (count, 2, 2) matrices, (count, 2) offsets.

    The forward distortion rotates by up to ±``rotate`` degrees, scales by a factor in
    ``scale`` (log-uniform), shears horizontally by up to ±``shear``, and shifts by up to
    ±``shift`` px in each direction; affine_warp needs its inverse.
    """
    theta = np.deg2rad(rng.uniform(-rotate, rotate, count))
    factor = np.exp(rng.uniform(np.log(scale[0]), np.log(scale[1]), count))
    skew = rng.uniform(-shear, shear, count)
    move = rng.uniform(-shift, shift, (count, 2))
    cos, sin = np.cos(theta), np.sin(theta)
    # Forward (y, x) map F = factor · R(θ) · [[1, 0], [skew, 1]], inverted in closed form
    # (det F = factor²): np.linalg.inv costs more than the rest for small batches.
    f00, f01 = factor * (cos - sin * skew), -factor * sin
    f10, f11 = factor * (sin + cos * skew), factor * cos
    det = factor * factor
    inverse = np.empty((count, 2, 2))
    inverse[:, 0, 0] = f11 / det
    inverse[:, 0, 1] = -f01 / det
    inverse[:, 1, 0] = -f10 / det
    inverse[:, 1, 1] = f00 / det
    # out(p) = in(F⁻¹(p - c - move) + c): the offset is -F⁻¹ · move.
    offsets = -(inverse @ move[:, :, None])[:, :, 0]
    return inverse, offsets


def augment_batch(
    images: np.ndarray,
    rng: np.random.Generator,
    *,
    shift: float = 2.5,
    rotate: float = 12.0,
    scale: tuple[float, float] = (0.87, 1.13),
    shear: float = 0.15,
    thickness: float = 0.5,
    elastic: float = 0.0,
    elastic_sigma: float = 5.0,
) -> np.ndarray:
    """Randomly distort a batch of digits: (B, 784) float32 in 0..1 -> new (B, 784) float32.

    Each image gets its own shift (±``shift`` px), rotation (±``rotate`` degrees), scale
    (within ``scale``), shear (±``shear``) and stroke-thickness change (``thickness`` in
    0..1: positive draws boost faint edge pixels, thickening strokes; negative ones cut
    them, thinning strokes). ``elastic`` > 0 adds an elastic distortion (see elastic_fields:
    ``elastic`` is its alpha, ``elastic_sigma`` its sigma), sampled together with the affine
    map in one bilinear pass. Output stays in 0..1. The same ``rng`` state gives the same
    result. ``images`` is not modified.
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != SIDE * SIDE:
        raise ValueError(f"images must have shape (B, 784), got {x.shape}")
    count = x.shape[0]
    matrices, offsets = _random_maps(count, rng, shift, rotate, scale, shear)
    change = rng.uniform(-thickness, thickness, count) if thickness > 0 else np.zeros(count)
    if elastic > 0:
        out = _elastic_warp(
            x, matrices, offsets, elastic_fields(count, rng, elastic, elastic_sigma)
        )
    else:
        out = affine_warp(x, matrices, offsets)
    # Stroke thickness on the anti-aliased edges: (v - cut) · gain, clipped to 0..1.
    # Thicker: gain up to 3 lifts half-covered edge pixels to full ink. Thinner: cut up to
    # 0.5 removes faint edges. Both keep the core of the stroke at 1.
    cut = (0.5 * np.maximum(-change, 0.0)).astype(np.float32)[:, None]
    gain = ((1.0 + 2.0 * np.maximum(change, 0.0)) / (1.0 - cut[:, 0])).astype(np.float32)
    out -= cut
    out *= gain[:, None]
    np.clip(out, 0.0, 1.0, out=out)
    return out

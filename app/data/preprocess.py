"""Turn a user's drawing into the 784 inputs the network expects, the way MNIST was made.

MNIST digits were cropped to their bounding box, scaled (anti-aliased) so the longer side is
20 px, and placed in a 28×28 field with the intensity-weighted centre of mass at the centre,
as light ink on a dark background. A network trained on that only recognises drawings that
went through the same steps, so every uploaded image does.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from app.data.lanczos import resize

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "NOTES",
    "SUPPORTED_FORMATS",
    "EmptyDrawingError",
    "ImageInputError",
    "InkMeasures",
    "Note",
    "center_digit",
    "image_to_ink",
    "image_to_input",
    "image_to_input_with_note",
    "measure_ink",
    "pixels_note",
    "pixels_to_input",
    "readability",
]

DEFAULT_MAX_PIXELS = 16_000_000
SUPPORTED_FORMATS = ("PNG", "JPEG", "WEBP")

# Ink fainter than this (as a fraction of the strongest ink) is compression noise or a
# smoothing halo; zeroing it keeps it from stretching the bounding box.
NOISE_FLOOR = 0.1
# Less contrast than this between ink and background means there is no drawing, just a
# slightly uneven background.
MIN_CONTRAST = 0.15
# Larger images are shrunk (box-averaged, so thin strokes survive as grey) to at most this
# many pixels on the long side before any float work: a 20 px digit needs no more, and a
# 16-megapixel float copy would cost hundreds of MB per request.
WORKING_SIDE = 1024
# MNIST geometry: digit box, field size and where the centre of mass goes (index coordinates;
# real MNIST digits average 13.99 / 14.01 here).
BOX = 20
FIELD = 28
CENTRE = 14.0
_LEVELS = np.float32(255.0)  # 8-bit levels → 0..1
_LEVEL_GREY = np.divide(np.arange(256, dtype=np.uint8), _LEVELS, dtype=np.float32)  # as _unit


class ImageInputError(ValueError):
    """The upload is not an image we accept: undecodable, unsupported, too big, or a bomb."""


class EmptyDrawingError(ValueError):
    """The image (or pixel list) has no ink, or too little to be a digit."""


# --- decoding -----------------------------------------------------------------------------


def _decode(data: bytes, max_pixels: int) -> Image.Image:
    """Open and fully decode ``data`` as PNG/JPEG/WebP, enforcing the pixel limit."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ImageInputError(f"Expected image bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise ImageInputError("The image is empty (0 bytes)")
    with warnings.catch_warnings():
        # Pillow only warns between its two bomb limits; an upload that big is refused.
        # (catch_warnings is process-wide, so concurrent calls can race on it: the explicit
        # MAX_IMAGE_PIXELS check below is what actually guarantees the refusal.)
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(SUPPORTED_FORMATS))
            width, height = image.size
            if width * height > max_pixels:
                raise ImageInputError(
                    f"The image is too large: {width}×{height} = {width * height:,} pixels "
                    f"(limit {max_pixels:,})"
                )
            bomb_limit = Image.MAX_IMAGE_PIXELS
            if bomb_limit is not None and width * height > bomb_limit:
                raise Image.DecompressionBombError(f"{width * height} pixels")
            if width == 0 or height == 0:
                raise ImageInputError(f"The image has no pixels ({width}×{height})")
            if image.format == "JPEG" and max(width, height) > WORKING_SIDE:
                # Let the JPEG decoder scale down by 2/4/8 as it decodes: faster, smaller.
                image.draft(None, (WORKING_SIDE, WORKING_SIDE))
            image.load()
            # Photos from phones store their orientation separately; apply it.
            ImageOps.exif_transpose(image, in_place=True)
        except ImageInputError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageInputError(
                "The image was refused as a possible decompression bomb (too many pixels)"
            ) from None
        except UnidentifiedImageError:
            raise ImageInputError("The data is not a PNG, JPEG or WebP image") from None
        except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError) as exc:
            raise ImageInputError(f"The image could not be decoded: {exc}") from None
    return image


def _grey(image: Image.Image) -> np.ndarray:
    """Luminance as (H, W) float32 in 0..1, for any Pillow mode."""
    if image.mode.startswith("I"):  # 16-bit greyscale PNG
        wide: np.ndarray = np.clip(np.asarray(image, dtype=np.float32) / 65535.0, 0.0, 1.0)
        return wide
    if image.mode == "F":
        return np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    return _unit(_levels(image))


def _levels(image: Image.Image) -> Image.Image:
    """The luminance of an 8-bit image (any mode but I and F) as an L image."""
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") and not _opaque_rgba(image):
        # Transparent pixels count as white paper when the colour is what carries the ink.
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image if image.mode == "L" else image.convert("L")  # (convert would copy an L)


def _opaque_rgba(image: Image.Image) -> bool:
    """Whether `image` is RGBA with every alpha 255 (as the page's drawings are): compositing
    it over white would then change nothing (checked for all 2^24 colours), so it is skipped."""
    if image.mode != "RGBA":
        return False
    low, _ = image.getchannel("A").getextrema()
    return low == 255


def _unit(levels: Image.Image) -> np.ndarray:
    """An 8-bit (L) image's levels as (H, W) float32 in 0..1, in one pass: the levels are
    cast to float32 inside the division (the same numbers as converting first, no copy)."""
    unit: np.ndarray = np.divide(np.asarray(levels), _LEVELS, dtype=np.float32)
    return unit


def _alpha(image: Image.Image) -> np.ndarray | None:
    """The alpha channel as (H, W) float32 in 0..1, or None if the image is fully opaque."""
    channel = _alpha_levels(image)
    return None if channel is None else _unit(channel)


def _alpha_levels(image: Image.Image) -> Image.Image | None:
    """The alpha channel as an L image, or None if the image is fully opaque."""
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    if not has_alpha or image.mode.startswith("I") or image.mode == "F":
        return None
    channel = image.getchannel("A") if image.mode in ("RGBA", "LA") else image.convert("RGBA")
    if channel.mode != "L":
        channel = channel.getchannel("A")
    # An opaque image (the page's drawings) is told from its lowest level, before any float
    # copy: the levels map to 0..1 in order, so the lowest level gives alpha.min().
    low = channel.getextrema()[0]  # an L image's extrema: two ints
    assert isinstance(low, int)
    lowest = np.divide(np.uint8(low), _LEVELS, dtype=np.float32)
    if not lowest < 0.99:
        return None
    return channel


# --- ink extraction -----------------------------------------------------------------------


def _ink_from_grey(grey: np.ndarray) -> np.ndarray | None:
    """Ink (H, W) in 0..1 from a greyscale image of either polarity; None if no contrast.

    The background is the median of the border pixels (a digit rarely covers most of the
    border). Ink is the deviation from it, towards whichever side (darker or lighter)
    deviates more in total, scaled so the strongest ink is 1.
    """
    border = np.concatenate([grey[0], grey[-1], grey[1:-1, 0], grey[1:-1, -1]])
    background = _median(border)
    # clip(x, 0, None) is maximum(x, 0): called directly, in place (no wrapper, no copies).
    darker: np.ndarray = np.subtract(background, grey)
    np.maximum(darker, 0.0, out=darker)
    lighter: np.ndarray = np.subtract(grey, background)
    np.maximum(lighter, 0.0, out=lighter)
    ink = darker if darker.sum() >= lighter.sum() else lighter
    strongest = float(ink.max())
    if strongest < MIN_CONTRAST:
        return None
    ink /= strongest
    # ink[ink < NOISE_FLOOR] = 0 in place, without the masked write (ink >= 0 and finite, so
    # x * True is x and x * False is +0: the same numbers; perf measured 71 → 38 µs).
    np.multiply(ink, ink >= NOISE_FLOOR, out=ink)
    return ink


def _median(values: np.ndarray) -> float:
    """np.median of a 1-D array without NaN, the way it computes it (partition at the middle,
    the mean of the middle one or two values) minus its wrapper's ~10 µs (perf's proposal)."""
    half = len(values) // 2
    if len(values) % 2:
        return float(np.mean(np.partition(values, half)[half : half + 1]))
    return float(np.mean(np.partition(values, [half - 1, half])[half - 1 : half + 1]))


def _check_enough_ink(ink: np.ndarray) -> None:
    """Raise EmptyDrawingError when too few pixels carry real ink to be a digit."""
    _check_strong_pixels(int(np.count_nonzero(ink > 0.5)), ink.size)


def _check_strong_pixels(strong: int, size: int) -> None:
    """_check_enough_ink, given the count of pixels whose ink is over 0.5 out of `size`."""
    needed = max(3, round(size * 5e-5))
    if strong < needed:
        raise EmptyDrawingError(
            f"The drawing is empty: only {strong} pixel(s) of ink (need at least {needed})"
        )


def _canonical(image: Image.Image) -> Image.Image:
    """The image in a mode the rest understands (L, RGB, RGBA, LA or I) and, if it is
    large, box-reduced to at most WORKING_SIDE pixels on its long side."""
    if image.mode.startswith("I;16"):
        image = image.convert("I")
    elif image.mode == "P" or "transparency" in image.info:
        image = image.convert("RGBA")
    elif image.mode not in ("L", "RGB", "RGBA", "LA", "I", "F"):
        image = image.convert("RGB")
    factor = -(-max(image.size) // WORKING_SIDE)  # ceiling division
    if factor > 1:
        image = image.reduce(factor)
    return image


def image_to_ink(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an image and return its ink as (H, W) float32 in 0..1 (1 = strongest ink).

    Handles greyscale/RGB/palette images in either polarity and ink on a transparent
    background (where the alpha channel is the ink). Images larger than WORKING_SIDE are
    box-reduced first, so H, W <= 1024. Raises ImageInputError for bytes we do not accept
    and EmptyDrawingError when there is no ink.
    """
    return _ink_of(_canonical(_decode(data, max_pixels)))


def _ink_of(image: Image.Image) -> np.ndarray:
    """image_to_ink of a decoded, canonical image."""
    ink = None
    alpha = _alpha(image)
    if alpha is not None:
        ink = _ink_from_grey(alpha)
    if ink is None:
        ink = _ink_from_grey(_grey(image))
    if ink is None:
        raise EmptyDrawingError("The drawing is empty: the image is a single flat colour")
    _check_enough_ink(ink)
    return ink


# --- MNIST-style normalisation ------------------------------------------------------------


def center_digit(ink: np.ndarray) -> np.ndarray:
    """Normalise ink (H, W) (0..1, light = ink) into a (28, 28) float32 MNIST-style digit.

    Crops to the bounding box of the non-zero ink, resizes (anti-aliased, Lanczos) so the
    longer side is 20 px keeping the aspect ratio, and places it in a 28×28 field shifted by
    whole pixels so the intensity-weighted centre of mass lands nearest (14, 14), as MNIST
    did. The result is scaled so its strongest pixel is 1. Raises EmptyDrawingError if
    there is no ink at all.
    """
    ink = np.asarray(ink, dtype=np.float32)
    if ink.ndim != 2:
        raise ValueError(f"ink must be a 2-D array, got shape {ink.shape}")
    return _centred(ink, _ink_box(ink))


def _ink_box(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), inclusive, of the non-zero ink (H, W); None if there is none."""
    rows = np.flatnonzero(ink.max(axis=1) > 0)
    if rows.size == 0:
        return None
    top, bottom = int(rows[0]), int(rows[-1])
    # Columns only within the rows that have ink: the same columns, from fewer pixels.
    cols = np.flatnonzero(ink[top : bottom + 1].max(axis=0) > 0)
    return top, bottom, int(cols[0]), int(cols[-1])


def _centred(ink: np.ndarray, box: tuple[int, int, int, int] | None) -> np.ndarray:
    """center_digit of float32 ink (H, W) whose ink box is `box`."""
    if box is None:
        raise EmptyDrawingError("The drawing is empty: no ink at all")
    top, bottom, left, right = box
    crop = ink[top : bottom + 1, left : right + 1]
    height, width = crop.shape
    scale = BOX / max(height, width)
    new_w = max(1, round(width * scale))
    new_h = max(1, round(height * scale))
    digit = resize(crop, new_w, new_h)  # Lanczos-3, as Pillow's (app/data/lanczos.py)
    # Lanczos rings slightly below 0 and above 1 next to sharp strokes.
    np.maximum(digit, 0.0, out=digit)  # (clip(x, 0, None) in place, without np.clip's wrapper)
    strongest = float(digit.max())
    if strongest <= 0:
        raise EmptyDrawingError("The drawing is empty: no ink left after scaling")
    # Every value is >= 0, and x / max <= 1 for x <= max in IEEE arithmetic: dividing in
    # place gives np.clip(digit / digit.max(), 0, 1) exactly, without the copies. Scaled
    # before the centre of mass is taken, so centring a centred digit again reads the same
    # numbers and places it where it is (a mirror-symmetric digit's centre falls exactly
    # between two pixels, and rounding noise must not move it: deslant re-fits digits).
    digit /= np.float32(strongest)
    mass = float(digit.sum())
    com_y = float((digit.sum(axis=1) * np.arange(new_h)).sum()) / mass
    com_x = float((digit.sum(axis=0) * np.arange(new_w)).sum()) / mass
    # Top-left corner that puts the centre of mass on CENTRE, kept inside the field.
    top = min(max(round(CENTRE - com_y), 0), FIELD - new_h)
    left = min(max(round(CENTRE - com_x), 0), FIELD - new_w)
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    field[top : top + new_h, left : left + new_w] = digit
    return field


def image_to_input(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """An encoded drawing (PNG/JPEG/WebP bytes) as the network's (784,) float32 input, 0..1.

    See image_to_ink (decoding, polarity, transparency) and center_digit (MNIST geometry).
    Raises ImageInputError or EmptyDrawingError.
    """
    return _input_and_measures(data, max_pixels)[0]


# --- raw pixels ---------------------------------------------------------------------------


def pixels_to_input(pixels: Sequence[float] | Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Validate 784 numbers (or 28 rows of 28) in 0..1 and return them as (784,) float32.

    The pixels are used as given (no re-centring): they are already the network's input.
    Raises ValueError saying what is wrong, or EmptyDrawingError if (almost) nothing is drawn.
    """
    try:
        array = np.asarray(pixels)
    except (ValueError, TypeError):
        raise ValueError("pixels must be 784 numbers or 28 rows of 28 numbers") from None
    if array.dtype.kind == "b" or array.dtype.kind not in "iuf":
        raise ValueError("pixels must be numbers (784 values, or 28 rows of 28)")
    if array.shape not in ((FIELD * FIELD,), (FIELD, FIELD)):
        raise ValueError(f"pixels must be 784 numbers or 28 rows of 28, got shape {array.shape}")
    values = array.astype(np.float32).reshape(FIELD * FIELD)
    if not np.isfinite(values).all():
        raise ValueError("pixels must be finite numbers (found NaN or infinity)")
    low, high = float(values.min()), float(values.max())
    if low < 0.0 or high > 1.0:
        bad = low if low < 0.0 else high
        raise ValueError(f"pixel values must be between 0 and 1, found {bad:g}")
    if np.count_nonzero(values > NOISE_FLOOR) < 3:
        raise EmptyDrawingError("The drawing is empty: (almost) every pixel is 0")
    return values


# --- readability: is there enough drawing to read? ----------------------------------------
#
# Cropping and scaling make any dot look like a 20 px digit, so the decision is made on the
# drawing as it arrived. Thresholds come from bench/note_thresholds.py: over all 10,000 MNIST
# test digits pasted on a 280×280 canvas at 35-90% of its height, the smallest extent is
# 0.29 and the least ink 0.66% of the canvas; dots, ticks and tiny scribbles drawn with the
# page's pen reach at most 0.104. Raw 28×28 test digits have an ink sum of at least 22.

NOTES: dict[str, str] = {
    "too_small": "Too small to read: draw bigger",
    "too_little_ink": "Too little ink to read: draw a digit",
}
# Longer side of the ink's bounding box as a fraction of the canvas's longer side. The
# page's pen is 7.2% of the pad wide, so a dot is about 0.07; a digit drawn at an eighth of
# the pad (0.125) must still be read: 0.11 sits between junk (<= 0.104) and those.
MIN_EXTENT = 0.11
# Total ink (sum of 0..1 ink) as a fraction of the canvas area.
MIN_INK = 0.001
# The same on the 28×28 grid of a pixels input (already the network's input).
MIN_GRID_EXTENT = 5
MIN_GRID_INK = 8.0


@dataclass(frozen=True)
class Note:
    """Why a drawing cannot really be read; the digit answered with it is only a guess."""

    code: str
    message: str


@dataclass(frozen=True)
class InkMeasures:
    """Simple measures of a drawing's ink, taken before any cropping or scaling.

    height / width: the ink's bounding box as fractions of the canvas height / width;
    extent: its longer side as a fraction of the canvas's longer side (size, not area, so a
    thin "1" counts as big); ink: the summed ink (0..1 per pixel) as a fraction of the area.
    """

    height: float
    width: float
    extent: float
    ink: float


def measure_ink(ink: np.ndarray) -> InkMeasures:
    """InkMeasures of ink (H, W) in 0..1 (non-zero = ink)."""
    return _measures(ink, _ink_box(ink))


def _measures(ink: np.ndarray, box: tuple[int, int, int, int] | None) -> InkMeasures:
    """measure_ink of ink (H, W) whose ink box is `box`."""
    return _measures_of(ink.shape, box, float(ink.sum()))


def _measures_of(
    shape: tuple[int, ...], box: tuple[int, int, int, int] | None, ink_sum: float
) -> InkMeasures:
    """InkMeasures of ink of `shape` (H, W) whose ink box is `box` and whose ink sums to ink_sum."""
    h, w = shape
    if box is None:
        return InkMeasures(0.0, 0.0, 0.0, 0.0)
    top, bottom, left, right = box
    box_h, box_w = bottom - top + 1, right - left + 1
    return InkMeasures(
        height=box_h / h,
        width=box_w / w,
        extent=max(box_h, box_w) / max(h, w),
        ink=ink_sum / (h * w),
    )


def _note(code: str) -> Note:
    return Note(code, NOTES[code])


def readability(ink: np.ndarray) -> Note | None:
    """None if the raw drawing's ink (H, W) is big enough to read, else the Note saying why."""
    return _readability(measure_ink(ink))


def _readability(measures: InkMeasures) -> Note | None:
    if measures.extent < MIN_EXTENT:
        return _note("too_small")
    if measures.ink < MIN_INK:
        return _note("too_little_ink")
    return None


def pixels_note(values: np.ndarray) -> Note | None:
    """readability for a 28×28 pixels input ((784,) 0..1): extent in px and ink sum."""
    grid = values.reshape(FIELD, FIELD)
    rows = np.flatnonzero(grid.max(axis=1) > NOISE_FLOOR)
    cols = np.flatnonzero(grid.max(axis=0) > NOISE_FLOOR)
    if rows.size == 0:
        return _note("too_little_ink")
    extent = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    if extent < MIN_GRID_EXTENT:
        return _note("too_small")
    if float(grid.sum()) < MIN_GRID_INK:
        return _note("too_little_ink")
    return None


def image_to_input_with_note(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[np.ndarray, Note | None]:
    """image_to_input plus readability of the raw drawing (None when it can be read)."""
    x, measures = _input_and_measures(data, max_pixels)
    return x, _readability(measures)


def _input_and_measures(data: bytes, max_pixels: int) -> tuple[np.ndarray, InkMeasures]:
    """The (784,) input and the raw drawing's InkMeasures."""
    image = _canonical(_decode(data, max_pixels))
    by_levels = _ink_by_levels(image)
    if by_levels is not None:
        crop, measures = by_levels
        whole = (0, crop.shape[0] - 1, 0, crop.shape[1] - 1)
        return _centred(crop, whole).reshape(FIELD * FIELD), measures
    ink = _ink_of(image)
    box = _ink_box(ink)  # found once for both (the ink is float32, 2-D)
    return _centred(ink, box).reshape(FIELD * FIELD), _measures(ink, box)


# --- 8-bit drawings: the same numbers from the 256 levels ---------------------------------


def _ink_by_levels(image: Image.Image) -> tuple[np.ndarray, InkMeasures] | None:
    """For an 8-bit image (L, RGB, RGBA, LA): image_to_ink's ink cropped to its ink box,
    and its InkMeasures, after the same empty checks. None for any other image.

    The ink of a pixel depends only on its level, so _ink_from_grey's float32 arithmetic is
    done once per level (256 values, not one per pixel): the background (median of the
    border), polarity and strongest ink come from the border and the level histogram, the
    ink box from the rows' and columns' extreme levels, and the crop's ink is one lookup
    per pixel. The numbers are image_to_ink's (the polarity's two sums are taken in float64
    over the histogram instead of float32 over the pixels, so a near-tie could go the other
    way: a drawing with as much ink darker as lighter than its background).
    """
    if image.mode not in ("L", "RGB", "RGBA", "LA"):
        return None
    alpha = _alpha_levels(image)
    found = None if alpha is None else _level_ink(alpha)
    if found is None:
        found = _level_ink(_levels(image))
    if found is None:
        raise EmptyDrawingError("The drawing is empty: the image is a single flat colour")
    array, counts, level_ink, darker = found
    _check_strong_pixels(int(counts[level_ink > 0.5].sum()), array.size)
    box = _level_box(array, level_ink, darker)
    ink_sum = float(level_ink.astype(np.float64) @ counts)
    measures = _measures_of(array.shape, box, ink_sum)
    if box is None:
        raise EmptyDrawingError("The drawing is empty: no ink at all")
    top, bottom, left, right = box
    # (np.take: the same lookup as level_ink[crop], in half the time)
    return np.take(level_ink, array[top : bottom + 1, left : right + 1]), measures


def _level_box(
    array: np.ndarray, level_ink: np.ndarray, darker: bool
) -> tuple[int, int, int, int] | None:
    """_ink_box of the ink of an 8-bit image (H, W) whose levels map to `level_ink`.

    Ink is monotonic in the level (the noise floor is a threshold on it), so the inked
    pixels are those at or beyond one level: the darkest rows' minimum, or the lightest's
    maximum, tells which rows (and then columns) have any ink.
    """
    inked = np.flatnonzero(level_ink > 0)
    if inked.size == 0:
        return None
    if darker:  # ink at the levels <= inked[-1]
        limit = int(inked[-1])
        rows = np.flatnonzero(array.min(axis=1) <= limit)
    else:
        limit = int(inked[0])
        rows = np.flatnonzero(array.max(axis=1) >= limit)
    if rows.size == 0:
        return None
    top, bottom = int(rows[0]), int(rows[-1])
    band = array[top : bottom + 1]
    cols = np.flatnonzero(band.min(axis=0) <= limit if darker else band.max(axis=0) >= limit)
    return top, bottom, int(cols[0]), int(cols[-1])


def _level_ink(levels: Image.Image) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool] | None:
    """_ink_from_grey per level of an L image: (its levels as an (H, W) uint8 array, their
    histogram, the ink of each of the 256 levels, darker polarity), or None if there is no
    contrast."""
    array = np.asarray(levels)
    counts = np.asarray(levels.histogram(), dtype=np.int64)
    border = np.concatenate([array[0], array[-1], array[1:-1, 0], array[1:-1, -1]])
    background = _median(_LEVEL_GREY[border])
    darker: np.ndarray = np.subtract(background, _LEVEL_GREY)
    np.maximum(darker, 0.0, out=darker)
    lighter: np.ndarray = np.subtract(_LEVEL_GREY, background)
    np.maximum(lighter, 0.0, out=lighter)
    is_darker = float(darker @ counts) >= float(lighter @ counts)
    ink = darker if is_darker else lighter
    strongest = float(ink[counts > 0].max())
    if strongest < MIN_CONTRAST:
        return None
    ink /= strongest
    np.multiply(ink, ink >= NOISE_FLOOR, out=ink)
    return array, counts, ink, is_darker

"""8-bit drawings are preprocessed through their 256 levels (issue 20, predict latency): the
input, the note and the errors must be exactly those of the per-pixel path (image_to_ink, which
keeps it), for every mode that takes the shortcut."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.data.mnist import load_mnist_test
from app.data.preprocess import (
    EmptyDrawingError,
    center_digit,
    image_to_ink,
    image_to_input,
    image_to_input_with_note,
    readability,
)


def _encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def _forms(mask: np.ndarray) -> dict[str, Image.Image]:
    ink = Image.fromarray(mask)
    zero = Image.new("L", ink.size, 0)
    full = Image.new("L", ink.size, 255)
    grey_paper = (200 - mask.astype(np.float32) * (160 / 255)).round().astype(np.uint8)
    return {
        "L": ink,
        "L dark on light": Image.fromarray(255 - mask),
        "RGB": Image.fromarray(255 - mask).convert("RGB"),
        "RGBA opaque": Image.fromarray(255 - mask).convert("RGBA"),
        "RGBA black ink on transparency": Image.merge("RGBA", [zero] * 3 + [ink]),
        "RGBA white ink on transparency": Image.merge("RGBA", [full] * 3 + [ink]),
        "LA": Image.merge("LA", [zero, ink]),
        "P": Image.fromarray(255 - mask).convert("P"),
        "grey paper": Image.fromarray(grey_paper).convert("RGB"),
    }


def _per_pixel(data: bytes) -> tuple[np.ndarray, str | None]:
    ink = image_to_ink(data)
    note = readability(ink)
    return center_digit(ink).reshape(784), None if note is None else note.code


def _cases(mnist_dir: Path) -> list[tuple[str, bytes]]:
    images, _ = load_mnist_test(mnist_dir, download=False)
    rng = np.random.default_rng(20)
    cases = []
    for index, digit in enumerate(images[:60]):
        size = (28, 120, 280, 333)[index % 4]
        side = min(size, int(rng.integers(8, 300)))
        big = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
        canvas = Image.new("L", (size, size), 0)
        place = (int(rng.integers(0, size - side + 1)), int(rng.integers(0, size - side + 1)))
        canvas.paste(big, place)
        for name, image in _forms(np.asarray(canvas)).items():
            cases.append((f"{index} {name} {size}px", _encode(image)))
    hairline = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(hairline).line([(20, 20), (20, 60)], fill=255, width=1)
    cases.append(("hairline", _encode(hairline)))
    return cases


def test_levels_give_the_per_pixel_input_and_note_bit_for_bit(mnist_dir: Path) -> None:
    noted = 0
    for name, data in _cases(mnist_dir):
        try:
            expected, expected_note = _per_pixel(data)
        except EmptyDrawingError as exc:
            with pytest.raises(EmptyDrawingError, match=f"^{re.escape(str(exc))}$"):
                image_to_input_with_note(data)
            continue
        x, note = image_to_input_with_note(data)
        np.testing.assert_array_equal(x, expected, err_msg=name)
        np.testing.assert_array_equal(image_to_input(data), expected, err_msg=name)
        assert (None if note is None else note.code) == expected_note, name
        noted += note is not None
    assert noted > 0  # the cases include drawings too small to read


@pytest.mark.parametrize(
    "image",
    [Image.new("RGB", (280, 280), "white"), Image.new("LA", (280, 280), (0, 0))],
    ids=["white", "transparent"],
)
def test_blank_8_bit_images_are_still_empty(image: Image.Image) -> None:
    with pytest.raises(EmptyDrawingError, match="single flat colour"):
        image_to_input(_encode(image))

"""app/data/decode.py: which drawings are small enough to be answered on the event loop."""

from __future__ import annotations

import io

from PIL import Image

from app.data.decode import SMALL_BYTES, SMALL_PIXELS, is_small, png_pixels


def _encoded(width: int, height: int, fmt: str = "PNG", mode: str = "L") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (width, height), 0).save(buf, fmt)
    return buf.getvalue()


def test_png_pixels_reads_the_size_from_the_header() -> None:
    assert png_pixels(_encoded(280, 280)) == 280 * 280
    assert png_pixels(_encoded(3, 5000, mode="RGBA")) == 15_000
    assert png_pixels(_encoded(280, 280)[:24]) == 280 * 280  # the header is enough


def test_png_pixels_is_none_for_anything_else() -> None:
    assert png_pixels(_encoded(28, 28, "JPEG")) is None
    assert png_pixels(_encoded(28, 28, "WEBP")) is None
    assert png_pixels(_encoded(28, 28)[:20]) is None  # cut inside the header
    assert png_pixels(b"") is None
    assert png_pixels(b"not an image at all, but long enough") is None


def test_small_means_a_png_of_few_pixels_and_few_bytes() -> None:
    side = int(SMALL_PIXELS**0.5)
    assert is_small(_encoded(280, 280))
    assert is_small(_encoded(side, side))
    assert not is_small(_encoded(side + 1, side))
    assert not is_small(_encoded(4000, 4000))  # a bomb-like blank PNG is only a few KB
    assert not is_small(_encoded(280, 280, "JPEG"))
    noisy = Image.frombytes("L", (200, 200), bytes(range(200)) * 200).effect_spread(50)
    buf = io.BytesIO()
    noisy.save(buf, "PNG", compress_level=0)
    assert len(buf.getvalue()) <= SMALL_BYTES and is_small(buf.getvalue())
    assert not is_small(buf.getvalue() + b"\0" * SMALL_BYTES)  # too many bytes

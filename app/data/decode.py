"""A drawing as a request carries it (base64 image or a pixel list) → the network's input.

The web layer's predict, explain and WebSocket probe all take drawings the same way; this is
the one place that turns them into the (784,) input and says clearly what is wrong otherwise.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Sequence

import numpy as np

from app.data.preprocess import (
    EmptyDrawingError,
    ImageInputError,
    Note,
    image_to_input_with_note,
    pixels_note,
    pixels_to_input,
)

Pixels = Sequence[float] | Sequence[Sequence[float]]


class InputError(ValueError):
    """Bad drawing input; the message says what is wrong (the API answers it with 422)."""


def decode_image(text: str) -> bytes:
    """base64 (optionally a `data:image/png;base64,...` URL) to bytes."""
    if text.startswith("data:"):
        head, sep, text = text.partition(",")
        if not sep or ";base64" not in head:
            raise InputError("image: a data: URL must be base64-encoded (data:...;base64,...)")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("image: not valid base64") from None


# A PNG starts with its signature and the IHDR chunk: width and height, big-endian, at 16..24.
_PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def png_pixels(data: bytes) -> int | None:
    """How many pixels a PNG says it has (width × height from its header, nothing decoded);
    None for anything that is not a PNG (a JPEG, a WebP, garbage)."""
    if len(data) < 24 or not data.startswith(_PNG_HEAD):
        return None
    return int.from_bytes(data[16:20], "big") * int.from_bytes(data[20:24], "big")


# A small drawing: a plain PNG of at most 320×320 pixels in at most 64 KiB, as the page sends
# (280×280, a few KiB). Its whole prediction takes ~1 ms of CPU and a few MB, so the web layer
# may answer it on the event loop (app/api/routers/predict.py) and it never waits for
# IMAGE_DECODES; anything else is decoded in a worker thread. "Plain" is checked on the chunk
# list, not only the header, because Pillow does more than decode pixels when it opens a PNG:
# it inflates every zTXt/iTXt/iCCP chunk (a 62 KiB PNG of 280×280 with 60 zTXt chunks costs
# ~0.7 s), and thousands of tiny chunks or 16-bit/interlaced pixels cost tens of ms. So: 8 bits
# a sample at most, not interlaced, at most SMALL_CHUNKS chunks, and only the chunks below.
SMALL_BYTES = 64 * 1024
SMALL_PIXELS = 320 * 320
SMALL_CHUNKS = 16
_PLAIN_CHUNKS = frozenset(
    {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"gAMA", b"sRGB", b"pHYs", b"cHRM"}
)


def is_small(data: bytes) -> bool:
    """Whether `data` is a small plain PNG (see SMALL_BYTES): known from its chunk list alone,
    nothing inflated."""
    if len(data) > SMALL_BYTES:
        return False
    pixels = png_pixels(data)
    if pixels is None or pixels > SMALL_PIXELS or data[24] > 8 or data[28] != 0:
        return False  # more than 8 bits a sample, or interlaced (byte 28 of the IHDR)
    return _plain_chunks(data)


def _plain_chunks(data: bytes) -> bool:
    """Whether the PNG's chunks are few, of the plain kinds, and end with IEND in the data."""
    at = 8
    for _ in range(SMALL_CHUNKS):
        if at + 8 > len(data):
            return False
        length = int.from_bytes(data[at : at + 4], "big")
        kind = data[at + 4 : at + 8]
        if kind not in _PLAIN_CHUNKS:
            return False
        if kind == b"IEND":
            return True
        at += 12 + length  # length, type, data, CRC
    return False


# Image decodes at once, per process: a 16-megapixel drawing takes ~100 MB of arrays and a core
# for a while; more at once would only add memory and GIL contention, not throughput. Callers
# of big ones run in worker threads, so waiting here never blocks the event loop; small ones
# (is_small) don't wait.
IMAGE_DECODES = threading.BoundedSemaphore(2)


def to_input(image: bytes | None, pixels: Pixels | None) -> tuple[np.ndarray, Note | None]:
    """The network's (784,) input from image bytes or a pixel list, and the readability note;
    InputError on bad input. Blocking work: call it from a worker thread, unless the image
    is small (is_small) or pixels are given."""
    try:
        if image is not None:
            if is_small(image):
                return image_to_input_with_note(image)
            with IMAGE_DECODES:
                return image_to_input_with_note(image)
        if pixels is None:
            raise InputError("give an image or pixels")
        values = pixels_to_input(pixels)
        return values, pixels_note(values)
    except EmptyDrawingError as exc:
        message = str(exc)
        if not message.startswith("The drawing is empty"):
            message = f"The drawing is empty: {message}"
        raise InputError(message) from None
    except ImageInputError as exc:
        raise InputError(str(exc)) from None
    except (ValueError, TypeError) as exc:
        raise InputError(f"pixels: {exc}") from None


def drawing_input(image: str | None, pixels: Pixels | None) -> np.ndarray:
    """The input of a base64 image or a pixel list (exactly one given); InputError otherwise."""
    data = decode_image(image) if image is not None else None
    return to_input(data, pixels)[0]

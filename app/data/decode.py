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


# Image decodes at once, per process: a 16-megapixel drawing takes ~100 MB of arrays and a core
# for a while; more at once would only add memory and GIL contention, not throughput. Callers
# run in worker threads, so waiting here never blocks the event loop.
IMAGE_DECODES = threading.BoundedSemaphore(2)


def to_input(image: bytes | None, pixels: Pixels | None) -> tuple[np.ndarray, Note | None]:
    """The network's (784,) input from image bytes or a pixel list, and the readability note;
    InputError on bad input. Blocking work: call it from a worker thread."""
    try:
        if image is not None:
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

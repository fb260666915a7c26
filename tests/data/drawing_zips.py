"""Drawings and import zips for the drawings tests (a module, so every test package can use it)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image


def stroke_png(digit: int = 7, size: int = 280, *, dark_on_light: bool = False) -> bytes:
    """A canvas-like drawing: a few strokes that differ by `digit` (white ink on black, or
    dark on white)."""
    image = np.zeros((size, size), np.uint8)
    s = size // 28
    image[5 * s : 8 * s, 6 * s : 22 * s] = 255  # a bar
    for row in range(8 * s, 24 * s):  # a diagonal whose slope depends on the digit
        col = 22 * s - (row - 8 * s) * (6 + digit) // 16
        image[row, max(col - 2 * s, 0) : col + s] = 255
    if dark_on_light:
        image = 255 - image
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


def encoded(data: bytes, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("L").save(buf, fmt)
    return buf.getvalue()


def blank_png(size: int = 280) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (size, size), 0).save(buf, "PNG")
    return buf.getvalue()


def zip_of(files: dict[str, bytes | str], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buf.getvalue()


def labelled_zip(labels: list[int], *, folder: str = "") -> bytes:
    """A good import: one PNG per label, `labels.csv` naming them in order."""
    rows = ["file,label"]
    files: dict[str, bytes | str] = {}
    for k, label in enumerate(labels):
        files[f"{folder}img{k}.png"] = stroke_png(label)
        rows.append(f"img{k}.png,{label}")
    files[f"{folder}labels.csv"] = "\n".join(rows) + "\n"
    return zip_of(files)

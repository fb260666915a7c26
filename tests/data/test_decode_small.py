"""Which PNGs predict answers on the event loop (app/data/decode.py's is_small): the page's
plain drawings only. The reviewer's finding: a 62 KiB 280×280 PNG with zTXt chunks passed the
header-only check and cost Pillow ~0.7 s to open ON the loop; 16-bit, interlaced and
many-chunk PNGs cost tens of ms. Expected answers come from how each file is built here."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw, PngImagePlugin

from app.data.decode import is_small


def _drawing(size: int = 280, mode: str = "RGBA") -> Image.Image:
    image = Image.new(mode, (size, size), "white")
    ImageDraw.Draw(image).line([(60, 60), (200, 220)], fill="black", width=18)
    return image


def _png(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _split_idat(data: bytes, pieces: int) -> bytes:
    """The same PNG with its image data cut into `pieces` IDAT chunks."""
    at, chunks, idat = 8, [], b""
    while at < len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        if kind == b"IDAT":
            idat += body
        else:
            chunks.append((kind, body))
        at += 12 + length
    step = -(-len(idat) // pieces)
    out = data[:8] + _chunk(*chunks[0])
    for start in range(0, len(idat), step):
        out += _chunk(b"IDAT", idat[start : start + step])
    return out + _chunk(b"IEND", b"")


def test_the_pages_drawing_is_small() -> None:
    assert is_small(_png(_drawing()))
    assert is_small(_png(_drawing(mode="L")))
    assert is_small(_split_idat(_png(_drawing()), 3))  # Chromium writes a few IDAT chunks


def test_compressed_text_chunks_are_not_small() -> None:
    info = PngImagePlugin.PngInfo()
    for k in range(60):
        info.add_text(f"k{k}", "x" * 1_000_000, zip=True)  # ~1 KiB each, 1 MB inflated
    data = _png(_drawing(), pnginfo=info)
    assert len(data) <= 64 * 1024  # small in bytes and pixels: only its chunks give it away
    assert not is_small(data)


def test_many_chunks_sixteen_bit_interlaced_and_big_are_not_small() -> None:
    assert not is_small(_split_idat(_png(_drawing()), 40))
    assert not is_small(_png(_drawing(mode="I;16")))
    assert not is_small(_interlaced(_png(_drawing())))
    assert not is_small(_png(_drawing(size=600, mode="L")))
    assert not is_small(b"\xff\xd8\xff\xe0 a JPEG")
    assert not is_small(_png(_drawing())[:40])  # cut short: no IEND


def _interlaced(data: bytes) -> bytes:
    """The same header with the interlace byte set (what Adam7 PNGs carry); the body is not
    re-encoded: is_small must refuse it from the header alone."""
    ihdr = bytearray(data[16:29])
    ihdr[12] = 1
    return data[:8] + _chunk(b"IHDR", bytes(ihdr)) + data[33:]

"""One synthetic "handwriting style" for fine-tuning (issue 17 §2): digits typed in Pillow's
default font (a FreeType sans), with a random stroke width and a slight random slant, drawn white
on black like the page's canvas. The shipped `accurate` model reads about 70% of them (it was
trained on handwriting); bench/finetune.py and tests/runs/test_finetune*.py fine-tune on them.

`style_png(digit, rng)` is the PNG a client would POST (as for predict); `style_inputs` is what
the network sees of them, through the predict path's preprocessing (app/data/preprocess.py).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SIDE = 128  # the canvas, in pixels
FONT_SIZE = 64


def style_png(digit: int, rng: np.random.Generator) -> bytes:
    """A PNG of `digit` in the style: stroke width 2-4 px, slant ±0.1 (shear)."""
    font = ImageFont.load_default(size=FONT_SIZE)
    image = Image.new("L", (SIDE, SIDE), 0)
    ImageDraw.Draw(image).text(
        (SIDE // 4, SIDE // 6), str(digit), fill=255, font=font,
        stroke_width=int(rng.integers(2, 5)), stroke_fill=255,
    )  # fmt: skip
    shear = float(rng.uniform(-0.1, 0.1))
    image = image.transform(
        image.size, Image.Transform.AFFINE, (1, shear, -shear * SIDE / 2, 0, 1, 0),
        resample=Image.Resampling.BILINEAR,
    )  # fmt: skip
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def style_pngs(n: int, seed: int) -> list[tuple[bytes, int]]:
    """`n` (PNG, label) pairs of the style, the labels cycling through 0-9."""
    rng = np.random.default_rng(seed)
    return [(style_png(i % 10, rng), i % 10) for i in range(n)]


def style_inputs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` drawings of the style as the network's inputs (n, 784) float32, and their labels."""
    from app.data.preprocess import image_to_input

    pairs = style_pngs(n, seed)
    images = np.stack([image_to_input(png).reshape(784) for png, _ in pairs]).astype(np.float32)
    return images, np.array([label for _, label in pairs], dtype=np.uint8)

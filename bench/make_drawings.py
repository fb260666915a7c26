"""Recreate bench/drawings/: digits drawn with the page's pen in Chromium, as the network saw them.

Every digit is written in several shapes (serifs on 1 and 7 or not, crossed 7s, open and closed
4s, 9s with a straight or a curved tail, looped 2s, flat-topped 3s, ...) and each shape in
several styles (slanted left or right, narrow, wide, small, large, off-centre, rotated, shaky,
gone over twice). The strokes are drawn with the mouse on the real page; what is saved is the
page's "what the network sees" preview with the 3b1b model selected, which is exactly the
28×28 input the page's pipeline makes (as 8-bit grey, white ink on black) before any model's
own input transform (accurate deslants it: bench/own_drawings.py and bench/handwriting.py
apply that), plus `labels.csv` (file, label, shape, style). `--set validation` writes the
held-out set (other shapes and styles) to bench/drawings-validation/. `--set strokes` writes
the stroke-width set, bench/drawings-strokes/: digits painted with a FIXED pen (thin, the pad's,
thick, a marker) at several sizes, as another app or an API client would POST them (the page
itself re-draws with a pen proportional to the digit), saved as the server's 28×28 input.

    python bench/make_drawings.py            # starts a server, rewrites bench/drawings/
    python bench/make_drawings.py --set validation   # rewrites bench/drawings-validation/
    python bench/make_drawings.py --set strokes      # rewrites bench/drawings-strokes/
    python bench/make_drawings.py --url http://127.0.0.1:8000 --out /tmp/drawings

Deterministic: the styles' random jitter is seeded. bench/own_drawings.py reads the result.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "bench"), str(REPO / "tests" / "e2e")]

from page_bench import ARGS, CHROMIUM, start_server  # noqa: E402
from waits import wait_for  # noqa: E402

OUT = REPO / "bench" / "drawings"
VALIDATION = REPO / "bench" / "drawings-validation"
Point = tuple[float, float]
Strokes = list[list[Point]]


def arc(
    cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 16
) -> list[Point]:
    """Points on an ellipse from angle a0 to a1 (degrees; 0 = right, 90 = down)."""
    return [
        (
            cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
            cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n)),
        )
        for i in range(n + 1)
    ]


def line(*points: Point, n: int = 4) -> list[Point]:
    """A polyline through `points`, each segment cut into n pieces (the pen moves smoothly)."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        out += [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(1, n + 1)]
    return out


# Shapes of each digit in a unit box (x right, y down), stroke by stroke as people write them.
SHAPES: dict[int, dict[str, Strokes]] = {
    0: {
        "oval": [arc(0.5, 0.5, 0.42, 0.48, -95, 268, 28)],
        "round": [arc(0.5, 0.5, 0.48, 0.46, -80, 290, 28)],
        "overlap": [arc(0.5, 0.52, 0.4, 0.46, -120, 260, 28) + line((0.3, 0.12), (0.55, 0.02))],
        "open-top": [arc(0.5, 0.5, 0.42, 0.48, -60, 225, 26)],
    },
    1: {
        "stick": [line((0.52, 0.0), (0.5, 1.0), n=8)],
        "flag": [line((0.25, 0.22), (0.55, 0.0), (0.53, 1.0), n=6)],
        "long-flag": [line((0.1, 0.4), (0.6, 0.0), (0.58, 1.0), n=6)],
        "flag-base": [
            line((0.25, 0.22), (0.55, 0.0), (0.53, 1.0), n=6),
            line((0.2, 1.0), (0.85, 1.0)),
        ],
    },
    2: {
        "plain": [
            arc(0.5, 0.28, 0.4, 0.27, 195, 370, 12) + line((0.88, 0.38), (0.08, 1.0), (0.95, 0.98))
        ],
        "loop": [
            arc(0.5, 0.28, 0.4, 0.27, 190, 365, 12)
            + line((0.9, 0.35), (0.2, 0.92))
            + arc(0.26, 0.84, 0.16, 0.14, -60, -330, 10)
            + line((0.3, 0.95), (0.95, 0.97))
        ],
        "swan": [
            arc(0.45, 0.3, 0.38, 0.3, 200, 400, 14) + line((0.7, 0.62), (0.12, 0.98), (0.95, 0.9))
        ],
    },
    3: {
        "round": [
            arc(0.45, 0.26, 0.38, 0.25, 200, 450, 14) + arc(0.45, 0.74, 0.42, 0.26, -90, 160, 14)
        ],
        "flat-top": [
            line((0.1, 0.02), (0.85, 0.02), (0.4, 0.42)) + arc(0.45, 0.7, 0.42, 0.3, -80, 160, 14)
        ],
        "two-strokes": [
            arc(0.45, 0.25, 0.36, 0.25, 200, 440, 12),
            arc(0.45, 0.74, 0.42, 0.26, -100, 160, 14),
        ],
    },
    4: {
        "open": [line((0.45, 0.0), (0.1, 0.65), (0.95, 0.65)), line((0.72, 0.3), (0.7, 1.0), n=6)],
        "closed": [line((0.95, 0.66), (0.05, 0.66), (0.68, 0.0), (0.68, 1.0), n=5)],
        "closed-tall": [
            line((0.62, 0.0), (0.05, 0.62), (0.95, 0.62)),
            line((0.62, 0.0), (0.62, 1.0), n=6),
        ],
        "open-tall": [
            line((0.3, 0.0), (0.15, 0.55), (0.9, 0.55)),
            line((0.75, 0.0), (0.72, 1.0), n=6),
        ],
    },
    5: {
        "bar-last": [
            line((0.3, 0.02), (0.25, 0.45)) + arc(0.5, 0.7, 0.4, 0.3, -125, 150, 14),
            line((0.3, 0.02), (0.9, 0.02)),
        ],
        "one-stroke": [
            line((0.88, 0.02), (0.3, 0.02), (0.25, 0.45)) + arc(0.5, 0.7, 0.4, 0.3, -125, 150, 14)
        ],
        "round-belly": [
            line((0.85, 0.02), (0.25, 0.05), (0.2, 0.48)) + arc(0.48, 0.7, 0.4, 0.3, -140, 140, 16)
        ],
    },
    6: {
        "curve": [
            line((0.75, 0.0), (0.45, 0.22), (0.15, 0.6)) + arc(0.5, 0.72, 0.36, 0.28, 180, -175, 18)
        ],
        "straight": [line((0.6, 0.0), (0.18, 0.68)) + arc(0.5, 0.74, 0.34, 0.26, 170, -180, 18)],
        "small-loop": [
            line((0.8, 0.02), (0.35, 0.35), (0.2, 0.75)) + arc(0.5, 0.8, 0.3, 0.2, 180, -175, 16)
        ],
    },
    7: {
        "plain": [line((0.05, 0.03), (0.95, 0.03), (0.35, 1.0), n=6)],
        "crossed": [
            line((0.05, 0.03), (0.95, 0.03), (0.35, 1.0), n=6),
            line((0.3, 0.5), (0.85, 0.5)),
        ],
        "serif": [line((0.05, 0.2), (0.08, 0.03), (0.95, 0.05), (0.45, 1.0), n=6)],
        "curved-stem": [line((0.05, 0.05), (0.92, 0.02)) + arc(0.0, 0.02, 0.92, 0.98, 0, 65, 8)],
    },
    8: {
        "one-stroke": [
            arc(0.5, 0.26, 0.34, 0.25, 90, 450, 16) + arc(0.5, 0.74, 0.42, 0.26, -90, 270, 16)
        ],
        "s-and-back": [
            arc(0.5, 0.25, 0.35, 0.23, 0, -270, 12)
            + arc(0.5, 0.72, 0.4, 0.27, -90, 180, 14)
            + line((0.1, 0.72), (0.82, 0.22), (0.84, 0.18))
        ],
        "two-circles": [
            arc(0.5, 0.25, 0.32, 0.24, -90, 270, 16),
            arc(0.5, 0.74, 0.42, 0.26, -90, 270, 16),
        ],
    },
    9: {
        "straight": [arc(0.45, 0.28, 0.4, 0.27, 0, 360, 18) + line((0.85, 0.28), (0.8, 1.0), n=6)],
        "curved": [
            arc(0.45, 0.28, 0.4, 0.27, 0, 360, 18)
            + line((0.85, 0.3), (0.78, 0.75))
            + arc(0.5, 0.75, 0.28, 0.25, 0, 120, 8)
        ],
        "open-loop": [
            arc(0.45, 0.28, 0.4, 0.27, -20, 300, 16) + line((0.82, 0.15), (0.8, 1.0), n=6)
        ],
        "slanted-tail": [
            arc(0.5, 0.28, 0.38, 0.26, 10, 370, 18) + line((0.88, 0.32), (0.45, 1.0), n=6)
        ],
    },
}


@dataclass(frozen=True)
class Style:
    name: str
    size: float = 0.7  # height of the digit, as a fraction of the pad
    centre: Point = (0.5, 0.5)
    slant: float = 0.0  # horizontal shift of the top relative to the bottom, per unit height
    width: float = 0.65  # width / height of the unit box
    rotate: float = 0.0  # degrees, clockwise
    jitter: float = 0.0  # shaky hand: random offsets of the points, in unit-box units
    twice: bool = False  # the strokes are gone over a second time, slightly offset (thicker)
    scatter: float = 0.0  # careless hand: each stroke shifted at random, in unit-box units


STYLES: list[Style] = [
    Style("upright"),
    Style("slant-right", slant=0.3),
    Style("slant-left", slant=-0.25),
    Style("narrow", width=0.4),
    Style("wide", width=0.95),
    Style("small", size=0.28, centre=(0.35, 0.4)),
    Style("small-corner", size=0.2, centre=(0.8, 0.78)),
    Style("large", size=0.92),
    Style("off-centre", size=0.45, centre=(0.3, 0.3)),
    Style("off-centre-low", size=0.5, centre=(0.68, 0.7)),
    Style("rotated-cw", rotate=12.0),
    Style("rotated-ccw", rotate=-12.0),
    Style("shaky", jitter=0.025),
    Style("twice", twice=True),
    Style("slant-right-small", size=0.35, slant=0.35, centre=(0.6, 0.35)),
    Style("wide-slant-left", width=0.85, slant=-0.2, size=0.6),
    Style("shaky-slant", jitter=0.02, slant=0.2, size=0.55, centre=(0.45, 0.55)),
    Style("twice-large", twice=True, size=0.85, width=0.55),
    # Harder: how far can writing go from MNIST's writers?
    Style("slant-right-strong", slant=0.6, size=0.6),
    Style("slant-left-strong", slant=-0.5, size=0.6),
    Style("rotated-25", rotate=25.0, size=0.6),
    Style("very-wide", width=1.25, size=0.55),
    Style("squat", width=1.0, size=0.4, centre=(0.5, 0.6)),
    Style("careless", jitter=0.035, scatter=0.06),
    Style("careless-slant", jitter=0.03, scatter=0.05, slant=0.35, size=0.5, centre=(0.4, 0.6)),
]


def render(strokes: Strokes, style: Style, rng: np.random.Generator) -> Strokes:
    """The strokes in pad fractions (0..1), styled."""
    cos, sin = math.cos(math.radians(style.rotate)), math.sin(math.radians(style.rotate))
    out: Strokes = []
    passes = [(0.0, 0.0), (0.025, 0.015)] if style.twice else [(0.0, 0.0)]
    for dx, dy in passes:
        for stroke in strokes:
            sx, sy = rng.normal(0, style.scatter, 2) if style.scatter else (0.0, 0.0)
            points = []
            for px, py in stroke:
                x = (px - 0.5 + dx + sx) * style.width + style.slant * (0.5 - py)
                y = py - 0.5 + dy + sy
                if style.jitter:
                    x, y = x + rng.normal(0, style.jitter), y + rng.normal(0, style.jitter)
                x, y = x * cos - y * sin, x * sin + y * cos
                points.append(
                    (
                        min(max(style.centre[0] + style.size * x, 0.01), 0.99),
                        min(max(style.centre[1] + style.size * y, 0.01), 0.99),
                    )
                )
            out.append(points)
    return out


# The held-out set (--set validation, bench/drawings-validation/): shapes and styles that are
# in neither the set above nor MNIST's usual writing, never used to choose a recipe's details
# (bench/handwriting.py reports it next to the set above).
EXTRA_SHAPES: dict[int, dict[str, Strokes]] = {
    0: {"narrow-loop": [arc(0.5, 0.5, 0.3, 0.5, -100, 262, 28)]},
    1: {"european": [line((0.05, 0.45), (0.62, 0.0), (0.55, 1.0), n=6)]},
    2: {"z": [line((0.1, 0.1), (0.85, 0.05), (0.12, 0.95), (0.95, 0.95), n=5)]},
    3: {"angular": [line((0.1, 0.02), (0.85, 0.1), (0.35, 0.45), (0.9, 0.7), (0.1, 0.98), n=4)]},
    4: {"open-cross": [line((0.35, 0.0), (0.05, 0.6), (1.0, 0.6)), line((0.7, 0.2), (0.7, 1.0))]},
    5: {"angular": [line((0.9, 0.02), (0.25, 0.02), (0.2, 0.45), (0.85, 0.5), (0.8, 0.95),
                         (0.1, 0.95), n=4)]},
    6: {"open-loop": [line((0.7, 0.0), (0.2, 0.6)) + arc(0.5, 0.75, 0.32, 0.24, 180, -120, 14)]},
    7: {"european": [
        line((0.0, 0.15), (0.1, 0.03), (0.95, 0.03), (0.4, 1.0), n=6),
        line((0.25, 0.52), (0.8, 0.48)),
    ]},
    8: {"tall": [arc(0.5, 0.24, 0.26, 0.23, -90, 270, 16) + arc(0.5, 0.73, 0.3, 0.27, -90, 270, 16)]},
    9: {"small-loop": [arc(0.5, 0.2, 0.3, 0.2, 0, 360, 16) + line((0.8, 0.2), (0.7, 1.0), n=6)]},
}  # fmt: skip
VALIDATION_STYLES: list[Style] = [
    Style("slant-right-very", slant=0.8, size=0.55),
    Style("narrow-slant-right", width=0.4, slant=0.45),
    Style("slant-left-narrow", width=0.45, slant=-0.35),
    Style("wide-slant-right", width=1.1, slant=0.4, size=0.5),
    Style("rotated-cw-slant", rotate=15.0, slant=0.3, size=0.6),
    Style("rotated-ccw-20", rotate=-20.0, size=0.65),
    Style("tall-thin", width=0.3, size=0.85),
    Style("cursive", slant=0.5, jitter=0.02, size=0.6),
    Style("shaky-corner", jitter=0.03, size=0.25, centre=(0.2, 0.8)),
    Style("careless-wide", jitter=0.03, scatter=0.05, width=0.9, size=0.55),
    Style("twice-slant", twice=True, slant=0.35, size=0.6),
    Style("small-slant-left", size=0.3, slant=-0.3, centre=(0.7, 0.3)),
]


# The stroke-width set (--set strokes, bench/drawings-strokes/): drawings made elsewhere than on
# the page, whose pen has a fixed width however large the digit is (another drawing app, an API
# client posting a PNG). The page re-draws what it sends with a pen proportional to the drawing
# (static/js/draw.js, NET_RATIO = 0.1 of its longer side): these drawings are not. `pen` is the
# pen's width as a fraction of the 280 px pad; pen / size is the width relative to the digit
# (0.1 on the page; MNIST's ~2 px strokes in its 20 px box).
@dataclass(frozen=True)
class PenStyle(Style):
    pen: float = 0.072


STROKE_STYLES: list[PenStyle] = [
    PenStyle("hairline", pen=0.008, size=0.75),
    PenStyle("thin-pen", pen=0.015, size=0.7),
    PenStyle("thin-pen-small", pen=0.015, size=0.3, centre=(0.4, 0.55)),
    PenStyle("thin-slant", pen=0.015, slant=0.35, size=0.6),
    PenStyle("pad-pen-small", pen=0.072, size=0.3, centre=(0.6, 0.4)),
    PenStyle("pad-pen-tiny", pen=0.072, size=0.22, centre=(0.3, 0.7)),
    PenStyle("pad-pen-small-slant", pen=0.072, size=0.35, slant=0.3),
    PenStyle("thick-pen", pen=0.13, size=0.75),
    PenStyle("thick-pen-small", pen=0.13, size=0.45),
    PenStyle("thick-slant", pen=0.12, slant=0.3, size=0.65),
    PenStyle("marker", pen=0.2, size=0.85),
    PenStyle("thick-wide", pen=0.12, width=1.0, size=0.6),
    # Harder: blobs (the pen 0.4 of the digit and more) and faint, careless hairlines.
    PenStyle("marker-small", pen=0.2, size=0.45),
    PenStyle("pad-pen-tiny-slant", pen=0.072, size=0.18, slant=0.4, centre=(0.75, 0.3)),
    PenStyle("thick-narrow", pen=0.15, width=0.45, size=0.6),
    PenStyle("thick-careless", pen=0.13, jitter=0.03, scatter=0.05, size=0.6),
    PenStyle("hairline-slant-left", pen=0.006, slant=-0.35, size=0.65),
    PenStyle("hairline-careless", pen=0.008, jitter=0.03, scatter=0.05, size=0.7),
]
SETS = {
    "dev": (SHAPES, STYLES, 2003),
    "validation": (None, VALIDATION_STYLES, 2024),
    "strokes": (None, STROKE_STYLES, 2031),
}
FOLDERS = {"dev": OUT, "validation": VALIDATION, "strokes": REPO / "bench" / "drawings-strokes"}


def drawings(which: str = "dev") -> Iterator[tuple[int, str, Style, Strokes]]:
    """(label, shape, style, strokes) for every drawing of a set: each digit in every style,
    its shapes taken in turn (the validation set: its own shapes first, then the others)."""
    shape_set, styles, seed = SETS[which]
    rng = np.random.default_rng(seed)
    for digit in SHAPES:
        shapes = shape_set[digit] if shape_set else {**EXTRA_SHAPES[digit], **SHAPES[digit]}
        names = list(shapes)
        if which == "strokes":  # every shape of the digit, starting from a different one
            names = names[digit % len(names) :] + names[: digit % len(names)]
        for k, style in enumerate(styles):
            shape = names[k % len(names)]
            yield digit, shape, style, render(shapes[shape], style, rng)


def draw(page, strokes: Strokes) -> np.ndarray:
    """Clear the pad, draw the strokes with the mouse, and return the 28×28 uint8 input the
    network saw (the preview canvas) once the page's answer for this drawing is shown."""
    page.get_by_test_id("clear").click()
    box = page.get_by_test_id("draw-canvas").bounding_box()
    for stroke in strokes:
        at = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*at[0])
        page.mouse.down()
        for point in at[1:]:
            page.mouse.move(*point, steps=2)
        page.mouse.up()
    wait_for(page, "window.__nnp.settled()", timeout=10000)
    rgba = page.evaluate(
        "() => Array.from(document.getElementById('seen-canvas')"
        ".getContext('2d').getImageData(0, 0, 28, 28).data)"
    )
    return np.asarray(rgba, dtype=np.uint8).reshape(28, 28, 4)[:, :, 0].copy()


# The page's paint() for strokes (static/js/draw.js): round caps and joins, quadratic curves
# through the midpoints of successive points, a dot for a single point; white ink on black.
PAINT = """([strokes, pen, size]) => {
  const c = document.createElement("canvas");
  c.width = size; c.height = size;
  const ctx = c.getContext("2d");
  ctx.fillStyle = "#000000"; ctx.fillRect(0, 0, size, size);
  ctx.strokeStyle = "#ffffff"; ctx.fillStyle = "#ffffff";
  ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.lineWidth = pen * size;
  for (const pts of strokes) {
    ctx.beginPath();
    ctx.moveTo(pts[0][0] * size, pts[0][1] * size);
    for (let i = 1; i < pts.length - 1; i++) {
      const mx = ((pts[i][0] + pts[i + 1][0]) / 2) * size;
      const my = ((pts[i][1] + pts[i + 1][1]) / 2) * size;
      ctx.quadraticCurveTo(pts[i][0] * size, pts[i][1] * size, mx, my);
    }
    const last = pts[pts.length - 1];
    ctx.lineTo(last[0] * size, last[1] * size);
    ctx.stroke();
  }
  return c.toDataURL("image/png");
}"""


def client_png(page, strokes: Strokes, pen: float) -> bytes:
    """The strokes painted as the page paints them but with a fixed pen (`pen` of the pad),
    as the 280×280 PNG another app or an API client would POST."""
    import base64

    url = page.evaluate(PAINT, [strokes, pen, 280])
    return base64.b64decode(url.split(",", 1)[1])


def make_strokes(out: Path) -> list[tuple[str, int, str, str]]:
    """--set strokes: each drawing painted in Chromium with its style's fixed pen, then turned
    into the 28×28 input by the server's own pipeline (image_to_input, as POST /api/predict
    does), saved as 8-bit grey."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(REPO))
    from app.data.preprocess import image_to_input

    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        for digit, shape, style, strokes in drawings("strokes"):
            assert isinstance(style, PenStyle)
            x = image_to_input(client_png(page, strokes, style.pen)).reshape(28, 28)
            name = f"{digit}-{shape}-{style.name}.png"
            pixels = np.rint(x * 255.0).astype(np.uint8)
            Image.fromarray(pixels, mode="L").save(out / name, optimize=True)
            rows.append((name, digit, shape, style.name))
        browser.close()
    return rows


def write_labels(out: Path, rows: list[tuple[str, int, str, str]]) -> None:
    with open(out / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "label", "shape", "style"])
        writer.writerows(rows)


def make(url: str, out: Path, which: str = "dev") -> int:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        # The preview shows the selected model's input; 3b1b has no input transform, so what is
        # saved is the page's pipeline alone (a deslanting model, as accurate is since issue
        # 17 §5, would show its deslanted input): readers apply each model's own transform.
        page.goto(url + "/?model=3b1b")
        wait_for(page, "window.__nnp && window.__nnp.ready", timeout=15000)
        for digit, shape, style, strokes in drawings(which):
            name = f"{digit}-{shape}-{style.name}.png"
            Image.fromarray(draw(page, strokes), mode="L").save(out / name, optimize=True)
            rows.append((name, digit, shape, style.name))
        browser.close()
    write_labels(out, rows)
    return len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a running server (default: start one)")
    ap.add_argument("--out", type=Path, help="folder to write (default bench/drawings[-SET]/)")
    ap.add_argument("--set", choices=list(SETS), default="dev", help="which drawings (default dev)")
    args = ap.parse_args()
    out = args.out or FOLDERS[args.set]
    if args.set == "strokes":  # no page needed: painted on a bare canvas
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.png"):
            old.unlink()
        rows = make_strokes(out)
        write_labels(out, rows)
        count = len(rows)
    elif args.url:
        count = make(args.url, out, args.set)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            proc, url = start_server(Path(tmp))
            try:
                count = make(url, out, args.set)
            finally:
                proc.terminate()
                proc.wait(timeout=10)
    print(f"{count} drawings written to {out}")


if __name__ == "__main__":
    main()

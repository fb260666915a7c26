"""Small drawings are read like large ones: the page re-draws the strokes for the network
with a pen relative to the drawing's size, so the server's crop-and-scale-to-20-px sees
MNIST-like strokes whatever size the person drew (issue 10, section 1).
"""

from __future__ import annotations

import statistics

from .digit_strokes import CORNERS, DIGITS, SMALL, place
from .test_playground import choose_model
from .waits import wait_for

# The "what the network sees" preview is the server's `input`: its ink, read back from the
# 28×28 canvas (0..255 per pixel), measures the stroke thickness the network got.
SEEN_INK = """() => {
  const c = document.getElementById('seen-canvas');
  const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;
  let s = 0;
  for (let i = 0; i < d.length; i += 4) s += d[i];
  return s / 255;
}"""


def draw(page, strokes) -> str:
    """Clear, draw every stroke with the mouse, wait for the answer to the whole drawing."""
    page.get_by_test_id("clear").click()
    box = page.get_by_test_id("draw-canvas").bounding_box()
    for s in strokes:
        at = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in s]
        page.mouse.move(*at[0])
        page.mouse.down()
        for p in at[1:]:
            page.mouse.move(*p, steps=2)
        page.mouse.up()
    wait_for(page, "window.__nnp.settled()", timeout=10000)
    return page.get_by_test_id("prediction").text_content() or ""


def test_small_digits_in_the_corners_read_right(open_page) -> None:
    page = open_page()
    choose_model(page, "accurate")
    # Today's blobs read as "8" or "0": these five were all wrong before the change.
    cases = [(1, 0), (2, 1), (3, 2), (5, 3), (7, 0)]
    got = {d: draw(page, place(DIGITS[d], *CORNERS[c], SMALL)) for d, c in cases}
    assert got == {d: str(d) for d, _ in cases}
    # The same strokes drawn large are still right.
    for d in (1, 3, 7):
        assert draw(page, place(DIGITS[d], 0.12, 0.1, 0.78)) == str(d)


def test_stroke_thickness_does_not_depend_on_the_drawing_size(open_page) -> None:
    page = open_page()
    choose_model(page, "accurate")
    for d in (3, 7):
        ink = {}
        for side in (0.1, 0.25, 0.5, 0.9):
            draw(page, place(DIGITS[d], 0.05, 0.05, side))
            ink[side] = page.evaluate(SEEN_INK)
        mid = statistics.median(ink.values())
        # ±25% of the median (measured: within ±5%; with the pad's pen this test fails).
        assert all(0.75 * mid <= v <= 1.25 * mid for v in ink.values()), (d, ink)

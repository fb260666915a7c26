"""The page's "what the network sees" for a deslanting model (issue 17 §5), in Chromium: the
shipped `accurate` reads a slanted drawing upright and the preview shows that; `3b1b` (no input
transform) shows the page pipeline's slanted input as before."""

from __future__ import annotations

import numpy as np

from .test_playground import stroke
from .waits import wait_for

# A 1 with a flag, leaning far to the right (pad fractions).
SLANTED_ONE = [(0.36, 0.34), (0.62, 0.16), (0.64, 0.16), (0.4, 0.86)]


def seen(page) -> np.ndarray:
    """The preview canvas (28×28) as 0..1 values, once the page's answer is shown."""
    rgba = page.evaluate(
        "() => Array.from(document.getElementById('seen-canvas')"
        ".getContext('2d').getImageData(0, 0, 28, 28).data)"
    )
    return np.asarray(rgba, dtype=np.float64).reshape(28, 28, 4)[:, :, 0] / 255.0


def moment_slant(grid: np.ndarray) -> float:
    """mu11 / mu02 of a 28×28 image (computed here, not with the code under test)."""
    ys, xs = np.mgrid[0:28, 0:28]
    mass = grid.sum()
    cy, cx = (grid * ys).sum() / mass, (grid * xs).sum() / mass
    return float((grid * (ys - cy) * (xs - cx)).sum() / (grid * (ys - cy) ** 2).sum())


def test_the_preview_shows_the_models_input(open_page) -> None:
    slants = {}
    for model in ("accurate", "3b1b"):
        page = open_page(path=f"/?model={model}")
        before = page.evaluate("window.__nnp.predictions")
        stroke(page, SLANTED_ONE)
        wait_for(page, "n => window.__nnp.settled() && window.__nnp.predictions > n", arg=before)
        slants[model] = moment_slant(seen(page))
    assert slants["3b1b"] < -0.2  # the pipeline alone keeps the lean
    assert abs(slants["accurate"]) < 0.05  # accurate's input stands upright

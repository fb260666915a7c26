"""The "What it dreams of" panel in a real Chromium against a real server.

The pixels and confidences the page shows are checked against the server's answer, fetched by
the test with httpx; the test imports no app code.
"""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from .test_playground import choose_model
from .waits import wait_for

# The canvases' pixels, read back: 10 × 784 grey levels 0..255 (the red channel).
DREAM_PIXELS = """() => [...document.querySelectorAll('[data-testid="dream"] canvas')].map(c => {
  const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;
  const out = [];
  for (let i = 0; i < d.length; i += 4) out.push(d[i]);
  return out;
})"""
READY = "() => document.querySelector('[data-testid=\"dreams\"]').dataset.state === 'ready'"


def _wait_for_dreams(page, model: str) -> None:
    wait_for(page, READY, timeout=30000)
    wait_for(
        page,
        "m => document.querySelector('[data-testid=\"dream\"]').title.startsWith(m + ' ')",
        arg=model,
    )


@pytest.mark.parametrize("model", ["3b1b", "accurate"])
def test_the_panel_shows_the_models_ten_dreams(open_page, server, artifacts, model) -> None:
    page = open_page()
    choose_model(page, model)
    _wait_for_dreams(page, model)
    answer = httpx.get(f"{server}/api/models/{model}/dreams", timeout=30).json()

    figures = page.get_by_test_id("dream")
    assert figures.count() == 10
    shown = np.array(page.evaluate(DREAM_PIXELS), dtype=float)
    assert shown.shape == (10, 784)
    want = np.round(np.clip(np.array(answer["images"]), 0, 1) * 255)
    np.testing.assert_allclose(shown, want, atol=1)  # the server's pixels, grey level for level
    for d in range(10):
        assert shown[d].max() - shown[d].min() > 60, f"dream {d} is blank"
        caption = figures.nth(d).locator("figcaption").text_content()
        p = answer["probabilities"][d][d]
        assert caption.split()[0] == str(d)
        assert caption.split()[1] == f"{round(p * 100)}%"
    assert page.get_by_test_id("dreams-status").is_hidden()
    page.get_by_test_id("dreams").screenshot(path=str(artifacts / f"dreams-{model}-1280.png"))


def test_the_panel_follows_the_model_select(open_page) -> None:
    page = open_page()
    choose_model(page, "3b1b")
    _wait_for_dreams(page, "3b1b")
    first = page.evaluate(DREAM_PIXELS)
    choose_model(page, "accurate")
    _wait_for_dreams(page, "accurate")
    assert page.evaluate(DREAM_PIXELS) != first
    choose_model(page, "3b1b")  # back: from the page's own cache, the same images
    _wait_for_dreams(page, "3b1b")
    assert page.evaluate(DREAM_PIXELS) == first


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_dreams_screenshots(open_page, artifacts, theme, width, height) -> None:
    page = open_page(width, height)
    if theme == "light":
        page.get_by_role("button", name="Switch to light theme").click()
    choose_model(page, "3b1b")
    _wait_for_dreams(page, "3b1b")
    card = page.get_by_test_id("dreams")
    card.scroll_into_view_if_needed()
    card.screenshot(path=str(artifacts / f"dreams-{width}x{height}-{theme}.png"))
    box = card.bounding_box()
    assert box is not None and box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Ten cells, each at least 48 px wide even on the phone: big enough to see the strokes.
    widths = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=\"dream\"] canvas')]"
        ".map(c => c.getBoundingClientRect().width)"
    )
    assert len(widths) == 10 and min(widths) >= 48, widths

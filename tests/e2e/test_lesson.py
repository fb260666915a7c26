"""The guided lesson ("Learn", issue 8 section 7) in a real Chromium against a real server.

The test walks the twelve steps (issue 19 added the weight maps and the dreams) with the
keyboard and with the buttons, and at each step checks
the part of the page that is spotlit (found here by its own id or test id), that it is on
screen and not under the lesson card, that the URL holds the step, and what the step set up on
the page (a first-layer neuron's panel, the nudges view, the parameter count of the network,
computed here from the sizes /api/models reports).
"""

from __future__ import annotations

import itertools

import httpx
import pytest

from .conftest import csp_violations
from .test_playground import choose_model
from .waits import wait_for

STEPS = 12
NUDGES = 11  # the step that shows the nudges
# The first element each step spotlights, as the page's own ids and test ids name it. How well
# each step shows its subject beside the card is measured in test_lesson_view.py.
TARGETS = {
    1: "document.querySelector('[data-testid=draw-canvas]').closest('.draw-row')",
    2: "document.getElementById('network-canvas')",
    3: "document.getElementById('network-canvas')",
    4: "document.getElementById('neuron-detail')",
    5: "document.getElementById('mx-grid')",
    6: "document.getElementById('network-canvas')",
    7: "document.getElementById('cost-example')",
    8: "document.querySelector('[data-testid=descent-run]').closest('.descent-controls')",
    9: "document.querySelector('[data-testid=weights-view]')",
    10: "document.querySelector('[data-testid=dreams]')",
    11: "document.getElementById('nudge-legend')",
    12: "document.getElementById('train-form')",
}

# True once `t` is the first spotlit element, part of it is on screen (above the bottom sheet
# on a phone), and on a phone the card is the bottom sheet.
SHOWN = """(t) => {
  const spots = document.querySelectorAll('.lesson-spot');
  if (!spots.length || spots[0] !== t) return false;
  const r = t.getBoundingClientRect();
  const c = document.querySelector('[data-testid=lesson]').getBoundingClientRect();
  const phone = innerWidth <= 600;
  if (r.bottom < 20 || r.top > (phone ? c.top : innerHeight) - 20) return false;
  if (phone) return c.bottom >= innerHeight - 1 && c.left <= 0 && c.right >= innerWidth;
  return true;
}"""


def parameters(sizes: list[int]) -> int:
    """Weights and biases of a fully connected network: Σ n_in·n_out + n_out."""
    return sum(n_in * n_out + n_out for n_in, n_out in itertools.pairwise(sizes))


def model_sizes(server: str, model_id: str) -> list[int]:
    models = httpx.get(f"{server}/api/models").json()["models"]
    return next(m["sizes"] for m in models if m["id"] == model_id)


def step_shown(page) -> int:
    text = page.get_by_test_id("lesson-count").text_content()
    n, total = (int(x) for x in text.replace("Step", "").split("/"))
    assert total == STEPS
    return n


def expect_step(page, n: int) -> None:
    """The lesson is at step n: card, URL, spotlight and scroll."""
    wait_for(
        page,
        "n => document.querySelector('[data-testid=lesson-count]').textContent"
        " === `Step ${n} / 12`",
        arg=n,
        timeout=5000,
    )
    assert page.get_by_test_id("lesson").is_visible()
    assert page.evaluate("location.hash") == f"#learn={n}"
    wait_for(page, f"() => ({SHOWN})({TARGETS[n]})", timeout=5000)


def expect_closed(page) -> None:
    assert page.get_by_test_id("lesson").is_hidden()
    assert page.evaluate("document.querySelectorAll('.lesson-spot').length") == 0
    assert "learn" not in page.evaluate("location.href")


def draw_for_me(page) -> None:
    """The step offers a drawing while the pad is empty: take it and wait for its numbers."""
    offer = page.get_by_test_id("lesson-draw")
    assert offer.is_visible()
    offer.click()
    wait_for(
        page,
        "window.__nnp.settled() && document.querySelector('[data-testid=prediction]')"
        ".textContent.trim() !== ''",
        timeout=15000,
    )
    offer.wait_for(state="hidden")


def two_frames(page) -> None:
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def check_step_setup(page, server: str, n: int) -> None:
    """What steps 3, 6 and 11 set up on the live page."""
    if n == 3:
        page.wait_for_selector("#neuron-detail [data-testid=term-z]")
        assert "Hidden layer 1, neuron" in page.locator("#neuron-detail").text_content()
    if n == 6:
        model = page.evaluate("window.__nnp.selected().id")
        want = parameters(model_sizes(server, model))
        assert page.get_by_test_id("lesson-params").text_content() == f"{want:,}"
    if n == NUDGES:
        assert page.get_by_test_id("mode-nudges").is_checked()
        assert page.locator("#nudge-legend").is_visible()
        assert page.locator("#act-legend").is_hidden()
    if n in (2, 5):
        assert page.get_by_test_id("mode-activations").is_checked()


def test_walk_the_lesson_with_the_keyboard(open_page, server) -> None:
    page = open_page(1280, 800)
    page.get_by_test_id("learn-open").click()
    expect_step(page, 1)
    assert page.evaluate(
        "document.querySelector('[data-testid=lesson]').contains(document.activeElement)"
    )
    draw_for_me(page)
    keys = ["ArrowRight", "PageDown"]
    for n in range(1, STEPS + 1):
        expect_step(page, n)
        check_step_setup(page, server, n)
        if n == 4:  # back and forth: ← and Page Up go back
            page.keyboard.press("ArrowLeft")
            expect_step(page, 3)
            page.keyboard.press("PageUp")
            expect_step(page, 2)
            page.keyboard.press("End")
            expect_step(page, STEPS)
            page.keyboard.press("Home")
            expect_step(page, 1)
            for _ in range(3):
                page.keyboard.press("ArrowRight")
            expect_step(page, 4)
        if n < STEPS:
            page.keyboard.press(keys[n % 2])
    page.keyboard.press("ArrowRight")  # the last step stays the last
    expect_step(page, STEPS)

    # The step is in the URL: a reload opens the lesson there again.
    page.reload()
    wait_for(page, "window.__nnp && window.__nnp.ready", timeout=15000)
    expect_step(page, STEPS)
    page.keyboard.press("ArrowLeft")
    expect_step(page, NUDGES)
    check_step_setup(page, server, NUDGES)

    # Esc closes the lesson (and only the lesson: the drawing stays), and clears the URL.
    draw_for_me(page)
    prediction = page.get_by_test_id("prediction").text_content()
    page.keyboard.press("Escape")
    expect_closed(page)
    assert page.get_by_test_id("prediction").text_content() == prediction
    assert page.get_by_test_id("learn-open").evaluate("b => b === document.activeElement")
    # "Learn" resumes where it was closed.
    page.get_by_test_id("learn-open").click()
    expect_step(page, NUDGES)


def test_walk_the_lesson_with_buttons_on_a_phone(open_page, server) -> None:
    # A link may open the lesson at any step, in either form.
    page = open_page(390, 844, path="/?learn=4")
    expect_step(page, 4)
    for n in (3, 2, 1):
        page.get_by_test_id("lesson-back").click()
        expect_step(page, n)
    assert page.get_by_test_id("lesson-back").is_disabled()
    draw_for_me(page)
    for n in range(1, STEPS + 1):
        expect_step(page, n)
        check_step_setup(page, server, n)
        if n == 6:  # the count is of the network now shown
            choose_model(page, "accurate")
            want = parameters(model_sizes(server, "accurate"))
            wait_for(
                page,
                "t => document.querySelector('[data-testid=lesson-params]').textContent === t",
                arg=f"{want:,}",
            )
            choose_model(page, "3b1b")
        if n < STEPS:
            page.get_by_test_id("lesson-next").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_test_id("lesson-close").click()
    expect_closed(page)
    page.get_by_test_id("learn-open").click()
    expect_step(page, STEPS)
    # Finishing closes the lesson; the next "Learn" starts from the beginning.
    assert page.get_by_test_id("lesson-next").text_content() == "Finish"
    page.get_by_test_id("lesson-next").click()
    expect_closed(page)
    page.get_by_test_id("learn-open").click()
    expect_step(page, 1)
    assert csp_violations(page) == []


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_lesson_screenshots(open_page, artifacts, theme, width, height) -> None:
    page = open_page(width, height, path="/#learn=1")
    page.emulate_media(reduced_motion="reduce")  # jump, don't glide: each picture is of a step
    if theme == "light":
        page.get_by_role("button", name="Switch to light theme").click()
    expect_step(page, 1)
    draw_for_me(page)
    tag = f"{width}x{height}-{theme}"
    for n in range(1, STEPS + 1):
        if n > 1:
            page.get_by_test_id("lesson-next").click()
        expect_step(page, n)
        if n in (1, 3, 5, 8, 9, 10, 11, 12):
            two_frames(page)  # the card follows the scroll on the next frame
            page.screenshot(path=str(artifacts / f"lesson-step{n}-{tag}.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width

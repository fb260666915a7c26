"""Training on drawings from the page (issue 17 §2), in a real Chromium against a real server:
"Fine-tune on my drawings" is disabled with the reason until there are drawings; with some, one
click starts a run from the selected MNIST model on a mix of MNIST and the drawings, and the
page watches it: it runs, the cost curve grows, and the chart gains the held-out drawings'
accuracy beside MNIST's test accuracy, with its legend. The train panel shows the new config
fields from the server's vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from .test_accessibility import set_theme
from .test_drawings_page import add_by_api, remove_all, wait_count
from .test_playground import choose_model
from .waits import wait_for

LIVE = ("queued", "downloading", "running", "paused")


@pytest.fixture(autouse=True)
def _clean(server: str) -> Iterator[None]:
    remove_all(server)
    yield
    remove_all(server)
    for run in httpx.get(f"{server}/api/runs").json()["runs"]:
        if run["status"] in LIVE:
            httpx.post(f"{server}/api/runs/{run['id']}/stop", timeout=30)


def test_the_button_says_why_without_drawings(open_page) -> None:
    page = open_page()
    button = page.get_by_test_id("finetune-start")
    wait_for(page, "() => document.querySelector('[data-testid=finetune-start]').title")
    assert button.is_disabled()
    assert "Save some drawings first" in button.get_attribute("title")
    assert "Save some drawings first" in page.get_by_test_id("finetune-note").text_content()


def test_fine_tune_on_my_drawings_runs_and_shows_both_accuracies(
    open_page, server: str, artifacts
) -> None:
    add_by_api(server, 40)
    page = open_page()
    wait_count(page, 40)
    choose_model(page, "accurate")
    button = page.get_by_test_id("finetune-start")
    assert button.is_enabled()
    assert button.get_attribute("data-from") == "accurate"
    note = page.get_by_test_id("finetune-note").text_content()
    assert "accurate" in note and "40 drawings" in note, note
    before = page.evaluate("window.__nnp.runId()")
    button.click()
    run_id = wait_for(
        page, "b => { const id = window.__nnp.runId(); return id !== b && id; }", before
    )
    info = httpx.get(f"{server}/api/runs/{run_id}").json()
    cfg = info["config"]
    assert cfg["from_model"] == "accurate" and cfg["data"] == "mix", cfg
    assert 0 < cfg["drawings_fraction"] < 1
    # The page watches it: it runs (or has already finished: it is short), the cost curve grows.
    wait_for(
        page,
        "() => ['running', 'finished'].includes("
        "document.querySelector('[data-testid=run-status]').textContent)",
        timeout=60000,
    )
    wait_for(page, "window.__nnp.chartPoints() > 0", timeout=60000)
    # After the first epoch: MNIST's test accuracy and the held-out drawings' accuracy.
    wait_for(page, "window.__nnp.chartDrawingsPoints() > 0", timeout=90000)
    assert page.get_by_test_id("legend-drawings").is_visible()
    shown = page.get_by_test_id("run-drawings-acc").text_content()
    assert shown.endswith("%"), shown
    evaluations = httpx.get(f"{server}/api/runs/{run_id}").json()["history"]["evaluations"]
    assert any(isinstance(e.get("drawings_accuracy"), float) for e in evaluations), evaluations
    assert page.evaluate("window.__nnp.selected()") == {"kind": "run", "id": run_id}
    screenshots(page, artifacts)


def screenshots(page, artifacts) -> None:
    """The train panel with both curves and the drawings fields: both themes, desktop and phone."""
    page.select_option("#f-data", "mix")  # the drawings fields in view
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for theme in ("dark", "light"):
            set_theme(page, theme)
            card = page.locator(".train-card")
            card.scroll_into_view_if_needed()
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
            card.screenshot(path=str(artifacts / f"drawpage-train-{theme}-{width}x{height}.png"))


def test_the_train_panel_shows_the_drawings_fields(open_page, server: str) -> None:
    vocab = httpx.get(f"{server}/api/vocabulary").json()
    page = open_page()
    options = page.eval_on_selector("#f-data", "s => [...s.options].map(o => o.value)")
    assert options == vocab["choices"]["data"]
    pools = page.eval_on_selector("#f-drawings_pool", "s => [...s.options].map(o => o.value)")
    assert pools == vocab["choices"]["drawings_pool"]
    assert page.locator("#f-drawings_fraction").is_hidden()
    page.select_option("#f-data", "mix")
    assert page.locator("#f-drawings_fraction").is_visible()
    assert page.locator("#f-drawings_pool").is_visible()
    assert page.input_value("#f-preset") == "", "an edited form is 'custom'"
    models = page.eval_on_selector("#f-from_model", "s => [...s.options].map(o => o.value)")
    assert models[0] == "" and {"3b1b", "accurate"} <= set(models)
    page.select_option("#f-from_model", "accurate")
    assert page.locator("#f-layers").is_disabled()
    page.select_option("#f-from_model", "")
    assert page.locator("#f-layers").is_enabled()

"""Shareable links (issue 16 §3) in a real Chromium against a real server: the page's state
lives in its address; "Copy link" puts it on the clipboard; opening the link in another
browser (a new context: no storage, no cookies in common) restores the config, the model or
run, the lesson step and the theme; a link to a run joins it; bad or stale values are ignored
with a short note; the link carries no identity and no token; names are shown as text.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from .conftest import CSP_RECORDER, csp_violations
from .waits import wait_for

# Every parameter a link may carry (url-state.js): nothing else, so no identity and no token.
LINK_PARAMS = {
    "model", "run", "preset", "dataset", "layers", "activation", "cost", "optimizer", "lr_schedule",
    "learning_rate", "batch_size", "epochs", "train_subset", "augment", "deslant", "strokes",
    "theme",
}  # fmt: skip
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


@pytest.fixture(autouse=True)
def _no_leftover_runs(server: str) -> Iterator[None]:
    yield
    for run in httpx.get(f"{server}/api/runs").json()["runs"]:
        if run["status"] in ("queued", "downloading", "running", "paused"):
            httpx.post(f"{server}/api/runs/{run['id']}/stop", timeout=30)


def fresh_page(browser, url: str, errors: list[str], **options):
    """A page in a new context (its own storage and cookies: another person's browser)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, **options)
    ctx.add_init_script(script=CSP_RECORDER)
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.goto(url)
    wait_for(page, "window.__nnp && window.__nnp.ready", timeout=20000)
    return ctx, page


def href(page) -> str:
    return page.evaluate("location.href")


def wait_href(page, fragment: str) -> str:
    return wait_for(page, "f => location.href.includes(f) && location.href", arg=fragment)


def start_api_run(server: str, cfg: dict) -> str:
    res = httpx.post(f"{server}/api/runs", json=cfg, timeout=30)
    assert res.status_code == 201, res.text
    return res.json()["id"]


def wait_api_status(server: str, run_id: str, status: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        info = httpx.get(f"{server}/api/runs/{run_id}").json()
        if info["status"] == status:
            return info
        assert time.monotonic() < deadline, f"run {run_id} is {info['status']}, not {status}"
        time.sleep(0.1)


def test_a_copied_link_restores_the_page_in_a_new_context(open_page, browser, server) -> None:
    page = open_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    vocab = httpx.get(f"{server}/api/vocabulary").json()["choices"]
    activation = next(a for a in vocab["activation"] if a != "sigmoid")
    page.select_option("#f-preset", "3b1b")
    page.fill("#f-layers", "24, 12")
    page.select_option("#f-activation", activation)
    page.fill("#f-learning_rate", "0.25")
    page.fill("#f-epochs", "2")
    page.fill("#f-train_subset", "4000")
    page.check("#f-augment")
    page.select_option("#model-select", "accurate")
    wait_for(page, "() => window.__nnp.selected().id === 'accurate'")
    page.get_by_role("button", name="Switch to light theme").click()
    page.get_by_test_id("learn-open").click()
    page.get_by_test_id("lesson").wait_for()
    page.evaluate("location.hash = '#learn=4'")  # the lesson follows the hash (as a link would)
    wait_for(page, "() => location.hash === '#learn=4'")
    wait_href(page, "augment=1")

    page.get_by_test_id("copy-link").click()
    wait_for(page, "() => document.querySelector('[data-testid=link-message]').textContent")
    assert "copied" in page.get_by_test_id("link-message").text_content().lower()
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == href(page)

    # The link says what the page shows, and nothing about who made it.
    parts = urlsplit(link)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    assert set(params) <= LINK_PARAMS, params
    assert params["model"] == "accurate" and params["theme"] == "light"
    assert params["layers"] == "24,12" and params["learning_rate"] == "0.25"
    assert parts.fragment == "learn=4"
    for cookie in page.context.cookies():
        assert cookie["value"] not in link, f"the link carries the {cookie['name']} cookie"
    assert "token" not in link.lower()

    errors: list[str] = []
    ctx, other = fresh_page(browser, link, errors, color_scheme="dark")
    try:
        assert other.input_value("#f-layers") == "24, 12"
        assert other.input_value("#f-activation") == activation
        assert float(other.input_value("#f-learning_rate")) == 0.25
        assert other.input_value("#f-epochs") == "2"
        assert other.input_value("#f-train_subset") == "4000"
        assert other.is_checked("#f-augment")
        assert other.input_value("#f-preset") == ""  # "custom": edited from 3b1b
        assert other.get_by_test_id("model-select").input_value() == "accurate"
        assert other.evaluate("window.__nnp.selected()") == {"kind": "model", "id": "accurate"}
        assert other.evaluate("document.documentElement.dataset.theme") == "light"
        wait_for(
            other,
            "() => document.querySelector('[data-testid=lesson-count]').textContent"
            " === 'Step 4 / 12'",
        )
        assert other.get_by_test_id("link-message").text_content() == ""  # nothing ignored
        assert csp_violations(other) == []
        assert href(other) == link
    finally:
        ctx.close()
    assert errors == []


def test_a_link_to_a_run_joins_it(open_page, browser, server) -> None:
    run_id = start_api_run(
        server, {"preset": "3b1b", "layers": [12], "epochs": 1, "train_subset": 1000}
    )
    info = wait_api_status(server, run_id, "finished")
    page = open_page(path=f"/?run={run_id}")
    assert page.evaluate("window.__nnp.runId()") == run_id
    assert page.evaluate("window.__nnp.selected()") == {"kind": "run", "id": run_id}
    assert page.get_by_test_id("run-status").text_content() == "finished"
    assert page.input_value("#f-layers") == "12"
    wait_for(
        page, "n => window.__nnp.chartPoints() === n", arg=len(info["history"]["metrics"]["step"])
    )
    assert f"run={run_id}" in href(page)
    # Choosing a model puts it in the address instead.
    page.select_option("#model-select", "3b1b")
    wait_for(
        page, "() => location.search.includes('model=3b1b') && !location.search.includes('run=')"
    )


def test_bad_link_values_are_ignored_with_a_note(open_page, page_errors, server) -> None:
    page_errors.allow("404 (Not Found)")  # the stale run: the browser logs the server's 404
    bad = {
        "model": "no-such-model",
        "run": "r0000gone",
        "preset": "3b1b",
        "layers": "16,abc",
        "learning_rate": "-1",
        "epochs": "100000",
        "batch_size": "0",
        "activation": XSS,
        "theme": "purple",
    }
    query = str(httpx.QueryParams(bad))
    page = open_page(path=f"/?{query}")
    presets = httpx.get(f"{server}/api/presets").json()
    note = page.get_by_test_id("link-message").text_content()
    for word in ("no-such-model", "r0000gone", "layers", "learning_rate", "epochs", "batch_size",
                 "activation", "theme"):  # fmt: skip
        assert word in note, (word, note)
    # The page is the ordinary one: the 3b1b model, the preset's config, the context's theme.
    assert page.evaluate("window.__nnp.selected()") == {"kind": "model", "id": "3b1b"}
    assert page.evaluate("window.__nnp.runId()") is None
    assert page.input_value("#f-preset") == "3b1b"
    assert page.input_value("#f-layers") == ", ".join(map(str, presets["3b1b"]["layers"]))
    assert int(page.input_value("#f-epochs")) == presets["3b1b"]["epochs"]
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("window.__xss") is None
    assert page.locator("#link-message img, #link-message script").count() == 0
    # The address is rewritten from the page's state: the bad values are gone.
    params = dict(parse_qsl(urlsplit(href(page)).query))
    assert params == {"model": "3b1b", "preset": "3b1b", "theme": "dark"}


def test_copy_link_without_the_clipboard_api(open_page, browser, server) -> None:
    """Served over plain http to another machine, the page has no navigator.clipboard: the link
    is shown, selected, to copy by hand."""
    page = open_page()
    page.evaluate("() => Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    page.fill("#f-epochs", "3")
    wait_href(page, "epochs=3")
    page.get_by_test_id("copy-link").click()
    box = page.get_by_test_id("link-fallback")
    box.wait_for()
    assert box.input_value() == href(page)
    assert page.evaluate(
        "() => { const b = document.getElementById('link-fallback');"
        " return document.activeElement === b"
        " && b.selectionEnd - b.selectionStart === b.value.length; }"
    )
    assert page.get_by_test_id("link-message").text_content()


def test_names_are_shown_as_text(open_page, server) -> None:
    """A model named with markup is listed as those characters, on the page and in its link."""
    run_id = start_api_run(
        server, {"preset": "3b1b", "layers": [8], "epochs": 1, "train_subset": 1000}
    )
    wait_api_status(server, run_id, "finished")
    res = httpx.post(f"{server}/api/runs/{run_id}/save", json={"name": XSS[:64]}, timeout=30)
    assert res.status_code == 201, res.text
    model = res.json()
    page = open_page(path=f"/?model={model['id']}")
    assert page.evaluate("window.__nnp.selected()") == {"kind": "model", "id": model["id"]}
    shown = page.eval_on_selector("#model-select", "s => s.options[s.selectedIndex].textContent")
    assert shown.startswith(model["name"])
    page.get_by_test_id("recent-runs").locator(f"[data-run-id='{run_id}']").wait_for()
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x]").count() == 0
    httpx.delete(f"{server}/api/models/{model['id']}")


def test_validation_messages_name_the_bound(open_page, page_errors) -> None:
    """The server leaves `ctx` out of its 422s (app/api/errors.py): the page read the bound from
    it and said "must be more than undefined" (failed before messages.js read the message)."""
    page_errors.allow("422 (Unprocessable")
    page = open_page()
    page.fill("#f-learning_rate", "-1")
    page.get_by_test_id("train-start").click()
    wait_for(page, "() => document.getElementById('err-learning_rate').textContent")
    assert page.locator("#err-learning_rate").text_content() == "Learning rate must be more than 0."

"""Zero Content-Security-Policy violations in Chromium: the page while a run trains and a digit
is drawn, and /docs with every request to another host blocked (it must work offline)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from .conftest import CSP_RECORDER, csp_violations
from .test_playground import RUN_FORM, SEVEN, stroke, wait_status, wait_step_above
from .waits import wait_for

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.fixture
def stop_runs(server: str):
    yield
    for run in httpx.get(f"{server}/api/runs").json()["runs"]:
        if run["status"] in ("queued", "downloading", "running", "paused"):
            httpx.post(f"{server}/api/runs/{run['id']}/stop")


def test_the_page_has_no_csp_violation_while_training_and_drawing(
    open_page, record, stop_runs
) -> None:
    page = open_page()
    assert "script-src 'self'" in page.evaluate(
        "fetch('/').then(r => r.headers.get('content-security-policy'))"
    )
    page.select_option("#f-preset", "3b1b")
    for selector, value in RUN_FORM.items():
        page.fill(selector, value)
    page.get_by_test_id("train-start").click()
    wait_status(page, "running")
    wait_step_above(page, 100)
    wait_for(page, "() => window.__nnp.chartPoints() > 5")
    # Drawing while a run is selected asks the training run (a probe over the WebSocket).
    before = page.evaluate("window.__nnp.probes")
    page.get_by_test_id("draw-canvas").scroll_into_view_if_needed()
    stroke(page, SEVEN)
    wait_for(page, "n => window.__nnp.probes > n", arg=before, timeout=20000)
    assert page.get_by_test_id("prediction").text_content() in list("0123456789")
    page.get_by_test_id("train-pause").click()
    wait_status(page, "paused")
    page.locator("#theme-toggle").click()  # the theme switch restyles the whole page
    violations = csp_violations(page)
    record("csp_violations_page", {"violations": len(violations), "details": violations})
    assert violations == []


def operation_count(server: str) -> int:
    paths = httpx.get(f"{server}/openapi.json").json()["paths"]
    return sum(1 for item in paths.values() for method in item if method in HTTP_METHODS)


def test_docs_work_offline_with_no_csp_violation(browser, server: str, record) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.add_init_script(script=CSP_RECORDER)
    foreign: list[str] = []
    local: list[str] = []

    def only_this_server(route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            local.append(url)
            route.continue_()
        else:  # a CDN, a validator, a font host...: offline, these would fail
            foreign.append(url)
            route.abort()

    ctx.route("**/*", only_this_server)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    try:
        page.goto(f"{server}/docs")
        expected = operation_count(server)
        wait_for(
            page,
            "n => document.querySelectorAll('.opblock').length >= n",
            arg=expected,
            timeout=20000,
        )
        shown = page.locator(".opblock").count()
        # Expand one operation and run it from the page: the docs really drive the API.
        block = page.locator(".opblock-get").filter(has_text="/api/presets").first
        block.locator(".opblock-summary").click()
        block.get_by_role("button", name="Try it out").click()
        block.get_by_role("button", name="Execute").click()
        block.locator(".live-responses-table tr.response .response-col_status").first.wait_for()
        status = block.locator(
            ".live-responses-table tr.response .response-col_status"
        ).first.inner_text()
        violations = csp_violations(page)
    finally:
        ctx.close()
    record(
        "docs_offline",
        {
            "operations": expected,
            "opblocks": shown,
            "foreign_requests": foreign,
            "local_requests": len(local),
            "csp_violations": violations,
        },
    )
    assert shown >= expected > 10
    assert status.strip() == "200"
    assert foreign == []
    assert violations == []
    assert errors == []
    assert any("/static/vendor/swagger-ui/swagger-ui-bundle.js" in url for url in local)


def test_the_recorder_sees_a_violation(open_page, page_errors) -> None:
    """The zero counts above mean something: an inline script is refused and recorded."""
    page_errors.allow("Content Security Policy")
    page = open_page()
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__inlineRan = true'; document.head.appendChild(s); }"
    )
    violations = wait_for(page, "() => window.__cspViolations.length && window.__cspViolations")
    assert violations[0]["directive"].startswith("script-src")
    assert page.evaluate("window.__inlineRan === undefined")

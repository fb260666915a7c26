"""Issue 19 defect 8: axe-core (vendored in static/vendor/axe-core, loaded by this test only)
finds no serious or critical accessibility violation on the page, in the lesson and on /docs,
in both themes; the page follows the system's light or dark preference.
"""

from __future__ import annotations

import json

import pytest

from .waits import wait_for

AXE = "/static/vendor/axe-core/axe.min.js"


def axe_violations(page, artifacts, name: str) -> list[dict]:
    """Serious and critical violations axe-core finds on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE)
        wait_for(page, "typeof window.axe !== 'undefined'")
    result = page.evaluate(
        "async () => { const r = await axe.run(document, { resultTypes: ['violations'] });"
        " return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 12).map(n => ({ target: n.target, summary: n.failureSummary }))"
        " })); }"
    )
    (artifacts / f"axe-{name}.json").write_text(json.dumps(result, indent=2))
    return [v for v in result if v["impact"] in ("serious", "critical")]


def set_theme(page, theme: str) -> None:
    if page.evaluate("document.documentElement.dataset.theme") != theme:
        page.locator("#theme-toggle").click()
    assert page.evaluate("document.documentElement.dataset.theme") == theme


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_no_serious_violations_on_the_page_and_the_lesson(open_page, artifacts, theme) -> None:
    page = open_page(1280, 800)
    set_theme(page, theme)
    page.get_by_role("button", name="Random test digit").click()
    wait_for(page, "window.__nnp.settled() && document.querySelector('#prediction').textContent")
    found = axe_violations(page, artifacts, f"page-{theme}")
    page.get_by_test_id("learn-open").click()
    for _ in range(3):  # a step with the neuron's arithmetic open
        page.get_by_test_id("lesson-next").click()
    found += axe_violations(page, artifacts, f"lesson-{theme}")
    assert not found, json.dumps(found, indent=2)


def test_no_serious_violations_on_docs(open_page, artifacts, browser, server) -> None:
    for theme in ("dark", "light"):
        ctx = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=theme)
        page = ctx.new_page()
        page.goto(server + "/docs")
        page.wait_for_selector(".swagger-ui .opblock", timeout=15000)
        found = axe_violations(page, artifacts, f"docs-{theme}")
        ctx.close()
        assert not found, json.dumps(found, indent=2)


def test_the_page_follows_the_system_theme(browser, server) -> None:
    for scheme in ("light", "dark"):
        ctx = browser.new_context(color_scheme=scheme)
        page = ctx.new_page()
        page.goto(server + "/")
        wait_for(page, "window.__nnp && window.__nnp.ready", timeout=15000)
        assert page.evaluate("document.documentElement.dataset.theme") == scheme
        ctx.close()

"""The teacher's class dashboard and projector view in a real Chromium (issue 16, section 2):
runs appear and change live, the leaderboard ranks them as their test accuracies say, a run
is stopped from the dashboard, names are shown as text, and neither page has a CSP violation.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest

from .conftest import CSP_RECORDER, csp_violations
from .waits import wait_for

# Short real runs of two architectures (a second or two each on an MNIST subset).
RUN = {
    "preset": "3b1b",
    "activation": "relu",
    "cost": "cross_entropy",
    "optimizer": "adam",
    "learning_rate": 0.005,
    "epochs": 2,
    "train_subset": 2000,
    "validation_size": 500,
}
LONG = {"preset": "3b1b", "epochs": 100, "validation_size": 500}
XSS = '<img src=x onerror="window.__pwned=1">&lt;b&gt;'


class ClassPages:
    """Open the teacher's pages (or any page) in fresh contexts, watching for errors."""

    def __init__(self, browser) -> None:
        self.browser = browser
        self.contexts: list = []
        self.errors: list[str] = []
        self.allowed: list[str] = []

    def open(self, url: str, ready: str = "window.__class && window.__class.ready", **context):
        options = {"viewport": {"width": 1400, "height": 900}, "color_scheme": "dark"}
        ctx = self.browser.new_context(**{**options, **context})
        ctx.add_init_script(script=CSP_RECORDER)
        self.contexts.append(ctx)
        page = ctx.new_page()
        page.on(
            "console",
            lambda m: self.errors.append(f"{m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on(
            "response",
            lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        page.goto(url)
        if ready:
            wait_for(page, ready, timeout=20000)
        return page

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()


@pytest.fixture
def pages(browser) -> Iterator[ClassPages]:
    opened = ClassPages(browser)
    yield opened
    opened.close()
    errors = [e for e in opened.errors if not any(a in e for a in opened.allowed)]
    assert errors == [], "console or page errors:\n" + "\n".join(errors)


@pytest.fixture
def stop_runs(server: str) -> Iterator[None]:
    yield
    for run in httpx.get(f"{server}/api/runs").json()["runs"]:
        if run["status"] in ("queued", "downloading", "running", "paused"):
            httpx.post(f"{server}/api/runs/{run['id']}/stop")
    httpx.delete(f"{server}/api/class/config")


def row_status(page, run_id: str) -> str | None:
    return page.evaluate(
        "id => { const c = document.querySelector(`tr[data-run='${id}'] .c-status`);"
        " return c ? c.dataset.status : null; }",
        run_id,
    )


def wait_row_status(page, run_id: str, status: str, timeout: float = 60000) -> None:
    wait_for(
        page,
        "([id, s]) => { const c = document.querySelector(`tr[data-run='${id}'] .c-status`);"
        " return c && c.dataset.status === s; }",
        arg=[run_id, status],
        timeout=timeout,
    )


def ranked(runs: list[dict]) -> list[str]:
    """Run ids best first, as the leaderboard must rank them: test accuracy (rounded as it is
    shown, to 4 decimals), then the smaller network, then the earlier run."""

    def params(sizes: list[int]) -> int:
        return sum((a + 1) * b for a, b in itertools.pairwise(sizes))

    return [
        r["id"]
        for r in sorted(
            runs,
            key=lambda r: (
                -round(r["best_test_accuracy"], 4),
                params([784, *r["config"]["layers"], 10]),
                r["created"],
            ),
        )
    ]


def test_the_dashboard_follows_runs_live_and_ranks_them(
    pages: ClassPages, server: str, record, stop_runs
) -> None:
    page = pages.open(f"{server}/class")
    assert page.get_by_test_id("learners-link").text_content().startswith("http://127.0.0.1:")
    assert page.get_by_test_id("qr").evaluate("img => img.complete && img.naturalWidth > 0")
    ids = [
        httpx.post(f"{server}/api/runs", json={**RUN, "layers": layers}).json()["id"]
        for layers in ([16], [32, 16], [8])
    ]
    for run_id in ids:
        wait_row_status(page, run_id, "finished")
    runs = [httpx.get(f"{server}/api/runs/{i}").json() for i in ids]
    expected = ranked(runs)
    wait_for(
        page,
        "ids => { const rows = [...document.querySelectorAll('#lb-architectures tr')]"
        ".map(r => r.dataset.run).filter(id => ids.includes(id));"
        " return JSON.stringify(rows) === JSON.stringify(ids); }",
        arg=expected,
    )
    # Each row shows its network, its parameter count and its own best test accuracy.
    for run in runs:
        row = page.locator(f"tr[data-run='{run['id']}']")
        sizes = "-".join(str(n) for n in [784, *run["config"]["layers"], 10])
        assert sizes in row.locator(".c-network").text_content()
        shown = row.locator(".c-test").text_content()
        assert shown == f"{run['best_test_accuracy'] * 100:.2f}%"
        assert page.evaluate("id => window.__class.run(id).curve.length", run["id"]) >= 2
    violations = csp_violations(page)
    record("csp_violations_class_dashboard", {"violations": len(violations)})
    assert violations == []

    projector = pages.open(f"{server}/class/projector")
    wait_for(projector, "() => document.querySelectorAll('#projector-rows li').length > 0")
    one = pages.open(f"{server}/class/projector?run={expected[0]}")
    wait_for(
        one, "() => document.querySelector('[data-testid=pr-status]').textContent === 'finished'"
    )
    best = runs[ids.index(expected[0])]["best_test_accuracy"]
    assert one.get_by_test_id("pr-test").text_content() == f"{best * 100:.2f}%"
    for p in (projector, one):
        assert csp_violations(p) == []


def test_the_teacher_stops_a_run_from_the_dashboard(
    pages: ClassPages, server: str, stop_runs
) -> None:
    page = pages.open(f"{server}/class")
    run_id = httpx.post(f"{server}/api/runs", json=LONG).json()["id"]
    wait_row_status(page, run_id, "running")
    row = page.locator(f"tr[data-run='{run_id}']")
    assert row.get_by_test_id("open-run").get_attribute("href") == f"/?run={run_id}"
    row.get_by_test_id("stop-run").click()
    wait_row_status(page, run_id, "stopped")
    assert httpx.get(f"{server}/api/runs/{run_id}").json()["status"] == "stopped"
    assert row.get_by_test_id("stop-run").is_disabled()
    assert csp_violations(page) == []


def test_a_model_name_is_shown_as_text(pages: ClassPages, server: str, stop_runs) -> None:
    run_id = httpx.post(f"{server}/api/runs", json=RUN).json()["id"]
    page = pages.open(f"{server}/class")
    wait_row_status(page, run_id, "finished")
    saved = httpx.post(f"{server}/api/runs/{run_id}/save", json={"name": XSS})
    assert saved.status_code == 201, saved.text
    row = page.locator(f"tr[data-run='{run_id}']")
    wait_for(
        page,
        "([id, name]) => document.querySelector(`tr[data-run='${id}'] .c-run`)"
        ".textContent.includes(name)",
        arg=[run_id, XSS],
    )
    assert row.locator("img").count() == 0
    assert page.evaluate("window.__pwned === undefined")
    assert csp_violations(page) == []


def test_a_pushed_config_reaches_the_learners_page(
    pages: ClassPages, server: str, stop_runs
) -> None:
    # The main page asks a run it has just started for its network, which a run still waiting
    # for its worker answers with 409 (the page then waits for its first weights).
    pages.allowed += ["/network", "status of 409"]
    page = pages.open(f"{server}/", ready="window.__nnp && window.__nnp.ready")
    box = page.get_by_test_id("teacher-config")
    assert box.is_hidden()
    pushed = httpx.put(
        f"{server}/api/class/config",
        json={"preset": "3b1b", "layers": [24, 12], "epochs": 1, "train_subset": 1000},
    )
    assert pushed.status_code == 200, pushed.text
    box.wait_for(state="visible")
    assert "784-24-12-10" in page.get_by_test_id("teacher-config-text").text_content()
    page.get_by_test_id("teacher-config-start").click()
    run_id = wait_for(page, "() => window.__nnp.runId()")
    config = httpx.get(f"{server}/api/runs/{run_id}").json()["config"]
    assert config["layers"] == [24, 12] and config["epochs"] == 1
    assert config["train_subset"] == 1000
    httpx.delete(f"{server}/api/class/config")
    box.wait_for(state="hidden")
    assert csp_violations(page) == []


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_no_serious_accessibility_violation(
    browser, server: str, artifacts, theme: str, stop_runs
) -> None:
    """axe-core (as tests/e2e/test_accessibility.py runs it) on the dashboard with a run in it
    and a pushed config, and on both projector views."""
    from .test_accessibility import axe_violations

    run_id = httpx.post(f"{server}/api/runs", json=RUN).json()["id"]
    httpx.put(f"{server}/api/class/config", json={"preset": "3b1b", "epochs": 2})
    opened = ClassPages(browser)
    found = []
    try:
        for path, name in (
            ("/class", "dashboard"),
            ("/class/projector", "projector"),
            (f"/class/projector?run={run_id}", "projector-run"),
        ):
            page = opened.open(f"{server}{path}", color_scheme=theme)
            wait_for(page, "window.__class.rendered > 0")
            found += axe_violations(page, artifacts, f"class-{name}-{theme}")
    finally:
        opened.close()
    assert not found, found

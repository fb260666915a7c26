"""Two learners and the teacher in three browser contexts against a class-mode server (issue 16
§1-2, the page's side): a learner's page opens on their own runs and never joins someone
else's by itself; on another learner's run the controls are disabled with the reason, and a
forced request shows the server's 403 `detail`; the teacher controls everyone's; the name chip
renames (with the server's validation message); names with markup are shown as text on the
main page and the compare page; links carry no identity and no token.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import CSP_RECORDER, csp_violations, run_server
from .waits import wait_for

TEACHER_TOKEN = "teacher-e2e-token-0123456789"
# Long enough to stay live while the test looks (slowed to a few mini-batches a second).
LONG = {"preset": "3b1b", "layers": [8], "epochs": 2, "train_subset": 3000, "batch_size": 10}
XSS = '<img src=x onerror="__xss=1"><b>b</b>'  # within the 40 characters of a name


@pytest.fixture(scope="module")
def class_server(browser, mnist_dir: Path, tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("class-links")
    with run_server(
        root, NNP_MNIST_DIR=str(mnist_dir), NNP_CLASS="1", NNP_TEACHER_TOKEN=TEACHER_TOKEN
    ) as base:
        yield base


class People:
    """Browser contexts (one per person), each page watched for errors."""

    def __init__(self, browser, base: str) -> None:
        self.browser = browser
        self.base = base
        self.contexts: list = []
        self.errors: list[str] = []
        self.allowed: list[str] = []

    def person(self):
        ctx = self.browser.new_context(viewport={"width": 1280, "height": 900})
        ctx.add_init_script(script=CSP_RECORDER)
        self.contexts.append(ctx)
        return ctx

    def open(self, ctx, path: str = "/"):
        page = ctx.new_page()
        page.on(
            "console",
            lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.goto(self.base + path)
        wait_for(page, "window.__nnp && window.__nnp.ready", timeout=20000)
        return page

    def teacher(self):
        ctx = self.person()
        page = self.open(ctx, f"/?teacher={TEACHER_TOKEN}")  # sets the teacher's cookie
        return ctx, page

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed)]


@pytest.fixture
def people(browser, class_server: str) -> Iterator[People]:
    p = People(browser, class_server)
    yield p
    for ctx in p.contexts:
        ctx.close()
    assert not p.unexpected(), "\n".join(p.unexpected())


def api(ctx, method: str, url: str, body: dict | None = None):
    """A request as this person (the context's cookie)."""
    return ctx.request.fetch(url, method=method, data=body)


def start_run(ctx, base: str) -> str:
    res = api(ctx, "POST", f"{base}/api/runs", LONG)
    assert res.status == 201, res.text()
    run_id = res.json()["id"]
    res = api(ctx, "POST", f"{base}/api/runs/{run_id}/speed", {"batches_per_second": 4})
    assert res.status == 200, res.text()
    return run_id


def stop_all(ctx, base: str) -> None:
    for run in api(ctx, "GET", f"{base}/api/runs").json()["runs"]:
        if run["status"] in ("queued", "downloading", "running", "paused"):
            api(ctx, "POST", f"{base}/api/runs/{run['id']}/stop")


def wait_live(ctx, base: str, run_id: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        info = api(ctx, "GET", f"{base}/api/runs/{run_id}").json()
        if info["status"] in ("running", "paused"):
            return info
        assert time.monotonic() < deadline, info["status"]
        time.sleep(0.1)


def controls_of(page) -> dict[str, dict]:
    return page.evaluate(
        """() => Object.fromEntries(['train-pause', 'train-stop', 'train-save', 'train-start']
          .map(id => { const b = document.getElementById(id);
                       return [id, {disabled: b.disabled, title: b.title}]; }))"""
    )


def me(ctx, base: str) -> dict:
    return api(ctx, "GET", f"{base}/api/me").json()


def test_learners_control_only_their_own_runs_the_teacher_all(people, class_server) -> None:
    base = class_server
    ada_ctx, bob_ctx = people.person(), people.person()
    ada = people.open(ada_ctx)
    bob = people.open(bob_ctx)
    ada_me, bob_me = me(ada_ctx, base), me(bob_ctx, base)
    assert ada_me["id"] != bob_me["id"] and not ada_me["is_teacher"] and ada_me["class_mode"]
    assert ada.get_by_test_id("me-name").text_content() == ada_me["name"]
    run_id = start_run(ada_ctx, base)
    try:
        wait_live(ada_ctx, base, run_id)

        # Bob opens Ada's run from a link: he watches it, its controls are disabled with why.
        bob.goto(f"{base}/?run={run_id}")
        wait_for(bob, "window.__nnp && window.__nnp.ready", timeout=20000)
        assert bob.evaluate("window.__nnp.runId()") == run_id
        wait_for(bob, "() => document.getElementById('train-pause').title.includes('owner')")
        c = controls_of(bob)
        for name in ("train-pause", "train-stop", "train-save"):
            assert c[name]["disabled"], (name, c)
            assert ada_me["name"] in c[name]["title"], c[name]
        assert not c["train-start"]["disabled"]
        assert ada_me["name"] in bob.get_by_test_id("run-owner").text_content()
        assert bob.get_by_test_id("run-speed-select").is_disabled()

        # A forced click (the button re-enabled by hand) gets the server's 403, shown as is.
        people.allowed.append("403 (Forbidden)")
        detail = api(bob_ctx, "POST", f"{base}/api/runs/{run_id}/stop").json()["detail"]
        bob.evaluate("() => { document.getElementById('train-stop').disabled = false; }")
        bob.get_by_test_id("train-stop").click()
        wait_for(bob, "d => document.getElementById('run-message').textContent === d", detail)
        assert api(bob_ctx, "GET", f"{base}/api/runs/{run_id}").json()["status"] in (
            "running",
            "paused",
        )

        # In Bob's list of everyone's runs, Ada's is marked hers; Save and Delete are disabled.
        bob.get_by_test_id("recent-everyone").check()
        item = bob.locator(f"[data-testid=recent-run][data-run-id='{run_id}']")
        item.wait_for()
        assert item.get_by_test_id("recent-owner").text_content() == ada_me["name"]
        assert item.locator("[data-action=save]").is_disabled()
        assert item.locator("[data-action=remove]").is_disabled()
        assert "owner" in item.locator("[data-action=remove]").get_attribute("title")

        # Ada controls her own run.
        ada.goto(f"{base}/?run={run_id}")
        wait_for(ada, "window.__nnp && window.__nnp.ready", timeout=20000)
        assert not controls_of(ada)["train-stop"]["disabled"]
        assert ada.get_by_test_id("run-owner").is_hidden()

        # The teacher controls anyone's: pauses Ada's run from the page.
        teacher_ctx, teacher = people.teacher()
        assert me(teacher_ctx, base)["is_teacher"]
        assert TEACHER_TOKEN not in teacher.evaluate("location.href")
        teacher.goto(f"{base}/?run={run_id}")
        wait_for(teacher, "window.__nnp && window.__nnp.ready", timeout=20000)
        wait_for(teacher, "() => !document.getElementById('train-pause').disabled")
        teacher.get_by_test_id("train-pause").click()
        wait_for(teacher, "() => document.getElementById('run-status').textContent === 'paused'")
        assert api(ada_ctx, "GET", f"{base}/api/runs/{run_id}").json()["status"] == "paused"

        # No link carries an identity or a token.
        for ctx, page in ((ada_ctx, ada), (bob_ctx, bob), (teacher_ctx, teacher)):
            link = page.evaluate("window.__nnp.link()")
            assert "teacher" not in link and TEACHER_TOKEN not in link
            for cookie in ctx.cookies():
                assert cookie["value"] not in link, cookie["name"]
        for page in (ada, bob, teacher):
            assert csp_violations(page) == []
    finally:
        stop_all(ada_ctx, base)


def test_a_new_tab_does_not_join_another_learners_run(people, class_server) -> None:
    """Before the fix, a new tab joined whatever run was training, anyone's."""
    base = class_server
    ada_ctx, bob_ctx = people.person(), people.person()
    people.open(ada_ctx)
    run_id = start_run(ada_ctx, base)
    try:
        wait_live(ada_ctx, base, run_id)
        bob = people.open(bob_ctx)
        assert bob.evaluate("window.__nnp.runId()") is None
        assert bob.evaluate("window.__nnp.selected()")["kind"] == "model"
        assert bob.get_by_test_id("run-status").text_content() == "idle"
        bob.click("#recent-refresh")
        bob.get_by_test_id("recent-runs").locator("li").first.wait_for()
        assert bob.locator(f"[data-run-id='{run_id}']").count() == 0  # his runs: none
        # Ada's own new tab does join her run.
        ada2 = people.open(ada_ctx)
        assert ada2.evaluate("window.__nnp.runId()") == run_id
    finally:
        stop_all(ada_ctx, base)


def test_names_with_markup_are_text_and_rename_shows_the_servers_message(
    people, class_server
) -> None:
    base = class_server
    ada_ctx, bob_ctx = people.person(), people.person()
    ada = people.open(ada_ctx)
    chip = ada.get_by_test_id("me-chip")
    assert chip.is_visible()
    # Too long: the server's validation message is shown, and nothing changes.
    people.allowed.append("422 (Unprocessable")
    before = me(ada_ctx, base)["name"]
    ada.get_by_test_id("me-rename").click()
    ada.get_by_test_id("me-input").fill("x" * 41)
    ada.get_by_test_id("me-save").click()
    wait_for(ada, "() => document.querySelector('[data-testid=me-error]').textContent")
    assert "40" in ada.get_by_test_id("me-error").text_content()
    assert me(ada_ctx, base)["name"] == before
    # Markup as a name: kept as those characters.
    ada.get_by_test_id("me-input").fill(XSS)
    ada.get_by_test_id("me-save").click()
    wait_for(ada, "t => document.querySelector('[data-testid=me-name]').textContent === t", XSS)
    assert me(ada_ctx, base)["name"] == XSS

    run_id = start_run(ada_ctx, base)
    try:
        wait_live(ada_ctx, base, run_id)
        api(ada_ctx, "POST", f"{base}/api/runs/{run_id}/stop")
        # A run stopped this early may have no weights yet: the page's GET .../network is 409.
        people.allowed.append("409 (Conflict)")
        bob = people.open(bob_ctx)
        bob.get_by_test_id("recent-everyone").check()
        owner = bob.locator(f"[data-run-id='{run_id}'] [data-testid=recent-owner]")
        owner.wait_for()
        assert owner.text_content() == XSS
        bob.goto(f"{base}/?run={run_id}")
        wait_for(bob, "window.__nnp && window.__nnp.ready", timeout=20000)
        assert XSS in bob.get_by_test_id("run-owner").text_content()
        bob.goto(f"{base}/compare?runs={run_id}")
        wait_for(bob, "window.__cmp && window.__cmp.ready", timeout=20000)
        assert XSS in bob.get_by_test_id("compare-legend").text_content()
        # Without Ada's run picked, "only mine" leaves it out of Bob's list.
        bob.goto(f"{base}/compare")
        wait_for(bob, "window.__cmp && window.__cmp.ready", timeout=20000)
        ada_pick = bob.locator(f"[data-testid=compare-pick][value='{run_id}']")
        assert ada_pick.count() == 1
        bob.get_by_test_id("compare-mine").check()
        ada_pick.wait_for(state="detached")
        for page in (ada, bob):
            assert page.evaluate("window.__xss") is None
            assert page.locator("img[src=x]").count() == 0
            assert csp_violations(page) == []
    finally:
        stop_all(ada_ctx, base)


def test_a_learner_makes_an_api_token_on_the_page_and_a_script_acts_as_them(
    people, class_server
) -> None:
    """Issue 16 §1: "API clients can use a bearer token instead of the cookie (create it from
    the page or the CLI)": the chip's "API token" shows a new token once, and a request with
    only that token (no cookie) is this learner: it starts a run they own."""
    import httpx

    base = class_server
    ada_ctx = people.person()
    ada = people.open(ada_ctx)
    box = ada.get_by_test_id("me-token-box")
    assert box.is_hidden()
    ada.get_by_test_id("me-token").click()
    wait_for(ada, "() => document.querySelector('[data-testid=me-token-value]').value.length > 0")
    token = ada.get_by_test_id("me-token-value").input_value()
    assert box.is_visible() and token not in ada.url
    ada_id = me(ada_ctx, base)["id"]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as script:
        assert script.get("/api/me").json()["id"] == ada_id
        small = {"preset": "3b1b", "epochs": 1, "train_subset": 500}
        created = script.post("/api/runs", json=small)
        assert created.status_code == 201, created.text
        assert created.json()["owner"] == ada_id
        script.post(f"/api/runs/{created.json()['id']}/stop")

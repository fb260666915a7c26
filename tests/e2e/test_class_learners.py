"""The class dashboard against the real identity (issue 16): a class-mode server, the teacher
in one browser context (the teacher's link), two learners in two others. The dashboard shows
both learners' runs live, under their names, and ranks them as their test accuracies say;
names (learners', models') are shown as text on the dashboard and the projector, where "Hide
names" replaces them; a config pushed from the dashboard reaches a learner's page, whose
"Start it" starts the learner's own run; a learner gets the teacher's pages refused; no page
has a CSP violation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import TEACHER_TOKEN, csp_violations, run_server
from .test_class_dashboard import RUN, ClassPages, ranked, wait_row_status
from .waits import wait_for

# Learner names are 1-40 characters: each a payload that would run if shown as HTML.
NAMES = ['<img src=x onerror="window.__pwned=1">', "<script>window.__pwned=2</script>b"]
MODEL_NAME = '<svg onload="window.__pwned=3"></svg>'


@pytest.fixture
def pages(browser) -> Iterator[ClassPages]:
    opened = ClassPages(browser)
    yield opened
    opened.close()
    errors = [e for e in opened.errors if not any(a in e for a in opened.allowed)]
    assert errors == [], "console or page errors:\n" + "\n".join(errors)


def learner(pages: ClassPages, base: str, name: str):
    """A learner's browser context (its identity cookie from GET /api/me), named `name`."""
    ctx = pages.browser.new_context()
    pages.contexts.append(ctx)
    me = ctx.request.get(f"{base}/api/me").json()
    assert not me["is_teacher"] and me["class_mode"]
    renamed = ctx.request.patch(f"{base}/api/me", data={"name": name})
    assert renamed.ok, renamed.text()
    return ctx, renamed.json()["id"]


def teacher_page(pages: ClassPages, base: str, path: str):
    """A page opened through the teacher's link (it sets the teacher's cookie)."""
    return pages.open(f"{base}{path}{'&' if '?' in path else '?'}teacher={TEACHER_TOKEN}")


def shown_text(page) -> str:
    return page.evaluate("document.body.textContent")


def test_the_dashboard_shows_each_learners_runs_and_ranks_them(
    pages: ClassPages, class_server: str
) -> None:
    base = class_server
    page = teacher_page(pages, base, "/class")
    learners = [learner(pages, base, name) for name in NAMES]
    # Joined, no run yet: listed by name (as text) all the same.
    wait_for(
        page,
        "names => names.every(n => document.getElementById('roster').textContent.includes(n))",
        arg=NAMES,
    )
    runs = {}
    for (ctx, owner), layers in zip(learners, ([8], [32, 16]), strict=True):
        r = ctx.request.post(f"{base}/api/runs", data={**RUN, "layers": layers})
        assert r.status == 201, r.text()
        runs[owner] = r.json()["id"]
    for owner, run_id in runs.items():
        wait_row_status(page, run_id, "finished")
        # The run's row is in its learner's block, under the learner's name, as text.
        section = page.locator(f"section.learner[data-owner='{owner}']")
        assert section.locator(f"tr[data-run='{run_id}']").count() == 1
    for (_, owner), name in zip(learners, NAMES, strict=True):
        shown = page.locator(f"section.learner[data-owner='{owner}'] .learner-name")
        assert shown.text_content() == name
    infos = [learners[0][0].request.get(f"{base}/api/runs/{i}").json() for i in runs.values()]
    expected = [next(o for o, r in runs.items() if r == run_id) for run_id in ranked(infos)]
    wait_for(
        page,
        "owners => JSON.stringify([...document.querySelectorAll('#lb-learners tr')]"
        ".map(r => r.dataset.run)) === JSON.stringify(owners)",
        arg=[runs[o] for o in expected],
    )
    names = page.locator("#lb-learners .lb-name").all_text_contents()
    assert names == [NAMES[[o for _, o in learners].index(o)] for o in expected]
    # A model name, saved by its learner, shows on the run's row as text too.
    ctx, owner = learners[1]
    saved = ctx.request.post(f"{base}/api/runs/{runs[owner]}/save", data={"name": MODEL_NAME})
    assert saved.status == 201, saved.text()
    wait_for(
        page,
        "([id, name]) => document.querySelector(`tr[data-run='${id}'] .c-run`)"
        ".textContent.includes(name)",
        arg=[runs[owner], MODEL_NAME],
    )
    assert page.locator("#learners img, #learners script, #learners svg").count() == 0
    assert page.evaluate("window.__pwned === undefined")
    assert csp_violations(page) == []

    # The projector: the names as text, then hidden with one switch.
    projector = teacher_page(pages, base, "/class/projector")
    wait_for(projector, "() => document.querySelectorAll('#projector-rows li').length === 2")
    assert projector.locator(".pj-name").all_text_contents() == names
    projector.get_by_test_id("anonymise").check()
    wait_for(
        projector, "() => document.querySelector('.pj-name').textContent.startsWith('Learner')"
    )
    hidden = projector.locator(".pj-name").all_text_contents()
    assert sorted(hidden) == ["Learner 1", "Learner 2"]
    assert not any(name in shown_text(projector) for name in NAMES)
    assert "anon=1" in projector.url
    one = teacher_page(pages, base, f"/class/projector?run={runs[learners[0][1]]}")
    wait_for(one, "() => document.querySelector('[data-testid=pr-status]').textContent")
    assert one.get_by_test_id("pr-title").text_content() == f"{NAMES[0]}'s run"
    hidden_one = teacher_page(pages, base, f"/class/projector?run={runs[learners[0][1]]}&anon=1")
    wait_for(hidden_one, "() => document.querySelector('[data-testid=pr-status]').textContent")
    assert hidden_one.get_by_test_id("pr-title").text_content().startswith("Learner ")
    assert not any(name in shown_text(hidden_one) for name in NAMES)
    for p in (projector, one, hidden_one):
        assert p.evaluate("window.__pwned === undefined")
        assert csp_violations(p) == []


def test_a_learner_is_refused_the_teachers_pages(pages: ClassPages, class_server: str) -> None:
    ctx, _ = learner(pages, class_server, "curious")
    page = ctx.new_page()
    for path in ("/class", "/class/projector"):
        response = page.goto(f"{class_server}{path}")
        assert response.status == 403
        assert "This page is the teacher's" in page.get_by_test_id("teacher-only").text_content()
    pages.allowed.append("status of 403")  # the browser logs the refused page


def test_a_config_pushed_from_the_dashboard_starts_on_a_learners_page(
    pages: ClassPages, class_server: str
) -> None:
    base = class_server
    dashboard = teacher_page(pages, base, "/class")
    wait_for(dashboard, "() => document.querySelectorAll('#p-preset option').length > 0")
    # The learner's page: its own identity (a page visit sets the cookie).
    pages.allowed += ["/network", "status of 409"]  # a just-started run has no weights yet
    page = pages.open(f"{base}/", ready="window.__nnp && window.__nnp.ready")
    me = page.request.get(f"{base}/api/me").json()
    assert not me["is_teacher"]
    dashboard.fill("#p-layers", "24, 12")
    dashboard.fill("#p-epochs", "1")
    dashboard.get_by_test_id("push-send").click()
    wait_for(
        dashboard, "() => document.getElementById('push-status').textContent.startsWith('Pushed')"
    )
    page.get_by_test_id("teacher-config").wait_for(state="visible")
    assert "784-24-12-10" in page.get_by_test_id("teacher-config-text").text_content()
    page.get_by_test_id("teacher-config-start").click()
    run_id = wait_for(page, "() => window.__nnp.runId()")
    # Slow motion (its owner may), so the 1-epoch run is still live when the teacher stops it:
    # on a loaded machine it could finish first (seen in CI).
    slowed = page.request.post(f"{base}/api/runs/{run_id}/speed", data={"batches_per_second": 4})
    assert slowed.status == 200, slowed.text()
    info = page.request.get(f"{base}/api/runs/{run_id}").json()
    assert info["owner"] == me["id"] and info["config"]["layers"] == [24, 12]
    assert info["config"]["epochs"] == 1
    # The teacher stops the learner's run from the dashboard.
    wait_row_status(dashboard, run_id, "running")
    dashboard.locator(f"tr[data-run='{run_id}']").get_by_test_id("stop-run").click()
    wait_row_status(dashboard, run_id, "stopped")
    dashboard.get_by_test_id("push-clear").click()
    page.get_by_test_id("teacher-config").wait_for(state="hidden")
    for p in (dashboard, page):
        assert csp_violations(p) == []


# The learners' link as the projector shows it: its text, the font size, whether it overflows
# its box, and the top of each character's line box (a new line starts where the top grows).
LINK_LAYOUT = """() => {
  const el = document.querySelector('.projector-join [data-testid=learners-link]');
  const tops = [];
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.data.length; i++) {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      tops.push(Math.round(range.getBoundingClientRect().top));
    }
  }
  return { text: el.textContent, tops, font: parseFloat(getComputedStyle(el).fontSize),
           overflow: el.scrollWidth > el.clientWidth, page: document.documentElement.scrollWidth };
}"""
LONG_LINK = "http://nn-playground.room-214.example-school.org:8000/"


def sensible_break(text: str, i: int) -> bool:
    """A line may start at text[i] after "://", after a dot, or at the port's ":" or a path's
    "/" (never inside a name, a number or "://")."""
    return (
        text[:i].endswith("://")
        or text[i - 1] == "."
        or (text[i] in ":/" and text[i - 1] not in ":/")
    )


def link_lines(layout: dict) -> list[str]:
    text, tops = layout["text"].strip(), layout["tops"]
    offset = layout["text"].index(text)
    tops = tops[offset : offset + len(text)]
    starts = [0] + [i for i in range(1, len(text)) if tops[i] > tops[i - 1]]
    assert all(sensible_break(text, i) for i in starts[1:]), [text[i:] for i in starts]
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


@pytest.fixture(scope="module")
def long_link_server(browser, mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A class-mode server whose learners' link (NNP_CLASS_LINK) is a long LAN name."""
    root = tmp_path_factory.mktemp("long-link-server")
    with run_server(
        root,
        NNP_MNIST_DIR=str(mnist_dir),
        NNP_CLASS="1",
        NNP_TEACHER_TOKEN=TEACHER_TOKEN,
        NNP_CLASS_LINK=LONG_LINK,
    ) as base:
        yield base


@pytest.mark.parametrize(
    "viewport", [{"width": w, "height": h} for w, h in [(1920, 1080), (1280, 720), (1024, 768)]]
)
def test_the_projector_shows_the_learners_link_on_one_line(
    pages: ClassPages, class_server: str, viewport: dict
) -> None:
    """The learners' link beside the leaderboard is read from the back of the room: on one line
    (shrunk to fit its column, never below 20 px), never cut in the middle of the address."""
    page = teacher_page(pages, class_server, "/class/projector")
    page.set_viewport_size(viewport)
    layout = wait_for(page, f"() => ({LINK_LAYOUT})().overflow === false && ({LINK_LAYOUT})()")
    assert layout["text"].strip() == f"{class_server}/"
    assert link_lines(layout) == [f"{class_server}/"]
    assert layout["font"] >= 20 and layout["page"] <= viewport["width"]
    assert csp_violations(page) == []


def test_a_long_learners_link_wraps_only_at_sensible_points(
    pages: ClassPages, long_link_server: str
) -> None:
    """A link too long for one line even at the smallest size wraps after "://", a dot, or at
    the port or the path, and nowhere else; on a wide screen it is one line again."""
    page = teacher_page(pages, long_link_server, "/class/projector")
    page.set_viewport_size({"width": 1024, "height": 768})
    layout = wait_for(page, f"() => ({LINK_LAYOUT})().overflow === false && ({LINK_LAYOUT})()")
    lines = link_lines(layout)
    assert "".join(lines) == LONG_LINK and len(lines) > 1
    assert layout["font"] >= 20 and layout["page"] <= 1024
    page.set_viewport_size({"width": 3840, "height": 2160})
    wait_for(page, f"() => ({LINK_LAYOUT})().tops.every((t, _, a) => t === a[0])")
    assert csp_violations(page) == []

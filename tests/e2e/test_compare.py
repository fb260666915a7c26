"""Compare runs (issue 16 §2) in a real Chromium: the runs list leads to /compare?runs=a,b; the
page overlays each run's cost and test accuracy on one chart, lists the config fields that
differ, and downloads the curves as CSV whose numbers are the server's histories (read here
from GET /api/runs/{id}, not from the page's code); a stale id is ignored with a note; no CSP
violation.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pytest

from .conftest import csp_violations
from .test_links import start_api_run, wait_api_status
from .waits import wait_for

TINY = {"preset": "3b1b", "layers": [10], "epochs": 2, "train_subset": 1000, "batch_size": 10}


@pytest.fixture(scope="module")
def two_runs(server: str) -> Iterator[list[dict]]:
    """Two finished runs whose configs differ in the learning rate and the layers."""
    ids = [
        start_api_run(server, {**TINY, "learning_rate": 0.5}),
        start_api_run(server, {**TINY, "learning_rate": 2.0, "layers": [6]}),
    ]
    infos = [wait_api_status(server, i, "finished", timeout=120) for i in ids]
    yield infos
    for i in ids:
        httpx.delete(f"{server}/api/runs/{i}")


def open_compare(page, server: str, query: str) -> None:
    page.goto(f"{server}/compare{query}")
    wait_for(page, "window.__cmp && window.__cmp.ready", timeout=20000)


def test_the_runs_list_leads_to_compare(open_page, server, two_runs) -> None:
    page = open_page()
    page.click("#recent-refresh")
    for info in two_runs:
        item = page.locator(f"[data-testid=recent-run][data-run-id='{info['id']}']")
        item.wait_for()
        item.get_by_test_id("recent-pick").check()
    link = page.get_by_test_id("recent-compare")
    assert link.text_content() == "Compare 2 runs"
    link.click()
    page.wait_for_url("**/compare?runs=*")
    wait_for(page, "window.__cmp && window.__cmp.ready", timeout=20000)
    assert sorted(page.evaluate("window.__cmp.picked()")) == sorted(i["id"] for i in two_runs)


def test_overlaid_curves_differences_and_csv(open_page, server, two_runs) -> None:
    page = open_page()
    ids = [i["id"] for i in two_runs]
    open_compare(page, server, f"?runs={','.join(ids)}")
    details = {i: httpx.get(f"{server}/api/runs/{i}").json() for i in ids}

    # One line per run, each in its own colour, from all of its history.
    drawn = wait_for(page, "n => window.__cmp.drawn().length === n && window.__cmp.drawn()", 2)
    assert [d["id"] for d in drawn] == ids
    assert len({d["color"] for d in drawn}) == 2
    for d in drawn:
        h = details[d["id"]]["history"]
        assert d["points"] == sum(c is not None for c in h["metrics"]["cost"])
        assert 2 <= d["columns"] <= d["points"]  # a line: at most one column per point
        assert d["evaluations"] == len(h["evaluations"]) == TINY["epochs"]
    legend = page.get_by_test_id("compare-legend").locator("li")
    assert legend.count() == 2

    # The config differences: the learning rate and the layers, with each run's value.
    rows = page.get_by_test_id("compare-diff").locator("tbody tr")
    fields = rows.evaluate_all("rs => rs.map(r => r.dataset.field)")
    assert "learning_rate" in fields and "layers" in fields and "epochs" not in fields
    lr = page.locator("#compare-diff tr[data-field=learning_rate] td").all_text_contents()
    assert lr == ["0.5", "2"]

    # The CSV download holds every point of both histories, exactly.
    with page.expect_download() as dl:
        page.get_by_test_id("compare-csv").click()
    path = dl.value.path()
    rows_csv = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    for run_id in ids:
        h = details[run_id]["history"]
        batch = [r for r in rows_csv if r["run"] == run_id and r["kind"] == "batch"]
        m = h["metrics"]
        assert [int(r["step"]) for r in batch] == m["step"]
        assert [float(r["cost"]) if r["cost"] else None for r in batch] == m["cost"]
        assert [float(r["batch_accuracy"]) for r in batch] == m["accuracy"]
        assert [float(r["epoch"]) for r in batch] == m["epoch"]
        epochs = [r for r in rows_csv if r["run"] == run_id and r["kind"] == "epoch"]
        assert [(int(r["epoch"]), int(r["step"])) for r in epochs] == [
            (e["epoch"], e["step"]) for e in h["evaluations"]
        ]
        assert [float(r["test_accuracy"]) for r in epochs] == [
            e["test_accuracy"] for e in h["evaluations"]
        ]
        assert [float(r["validation_accuracy"]) for r in epochs] == [
            e["validation_accuracy"] for e in h["evaluations"]
        ]
    assert {r["run"] for r in rows_csv} == set(ids)

    # Unticking a run takes it off the chart and out of the address.
    page.locator(f"[data-testid=compare-pick][value='{ids[0]}']").uncheck()
    wait_for(page, "() => window.__cmp.drawn().length === 1")
    assert page.evaluate("location.search") == f"?runs={ids[1]}"
    page.locator("#theme-toggle").click()
    assert csp_violations(page) == []


def test_a_stale_run_in_the_address_is_ignored(open_page, page_errors, server, two_runs) -> None:
    page_errors.allow("404 (Not Found)")
    page = open_page()
    open_compare(page, server, f"?runs=r0000gone,{two_runs[0]['id']}")
    assert "r0000gone" in page.get_by_test_id("compare-message").text_content()
    assert page.evaluate("window.__cmp.picked()") == [two_runs[0]["id"]]
    assert page.evaluate("location.search") == f"?runs={two_runs[0]['id']}"
    wait_for(page, "() => window.__cmp.drawn().length === 1")
    assert csp_violations(page) == []


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_no_serious_accessibility_violations(open_page, artifacts, server, two_runs, theme) -> None:
    from .test_accessibility import axe_violations, set_theme

    page = open_page()
    open_compare(page, server, f"?runs={','.join(i['id'] for i in two_runs)}")
    wait_for(page, "() => window.__cmp.drawn().length === 2")
    set_theme(page, theme)
    found = axe_violations(page, artifacts, f"compare-{theme}")
    assert not found, found


def test_csv_cells_are_quoted_and_never_formulas(open_page, server) -> None:
    """A name is text in the CSV too: commas and quotes are quoted, and a spreadsheet never
    runs one as a formula (issue 16 §4: user-controlled text)."""
    page = open_page()
    open_compare(page, server, "")
    rows = page.evaluate(
        """async () => {
          const { curvesCsv } = await import('/static/js/compare-data.js');
          const run = (id, owner_name) => ({ id, owner_name, history: {
            metrics: { step: [10], epoch: [0.5], cost: [0.25], accuracy: [0.5] },
            evaluations: [] } });
          return curvesCsv([run('r1', '=HYPERLINK("http://x")'), run('r2', 'a, "b"')]);
        }"""
    )
    parsed = list(csv.DictReader(io.StringIO(rows)))
    assert [r["owner"] for r in parsed] == ['\'=HYPERLINK("http://x")', 'a, "b"']
    assert [r["cost"] for r in parsed] == ["0.25", "0.25"]


def test_a_run_still_training_grows_on_the_chart(open_page, server) -> None:
    run_id = start_api_run(server, {**TINY, "epochs": 3})
    res = httpx.post(f"{server}/api/runs/{run_id}/speed", json={"batches_per_second": 20})
    assert res.status_code == 200, res.text
    try:
        page = open_page()
        open_compare(page, server, f"?runs={run_id}")
        first = page.evaluate("window.__cmp.drawn()[0] ? window.__cmp.drawn()[0].points : 0")
        # The live run's first points may arrive after the page is ready (nothing drawn yet)
        grown = "n => { const d = window.__cmp.drawn()[0]; return Boolean(d) && d.points > n; }"
        wait_for(page, grown, first, timeout=20000)
    finally:
        httpx.post(f"{server}/api/runs/{run_id}/stop", timeout=30)  # kept: the page may ask


# Every run of letters and digits in the differences table lies on one line: a cell may wrap
# between words (or after a "_", "," or "/" in a value), never inside one.
WORDS_BROKEN = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll('#compare-diff th, #compare-diff td')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/[\\p{L}\\p{N}]+/gu)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (tops.size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""


@pytest.fixture(scope="module")
def five_runs(server: str, two_runs: list[dict]) -> Iterator[list[dict]]:
    """Five runs whose configs differ in many fields (long values: cross_entropy, momentum,
    onecycle)."""
    more = [
        {**TINY, "activation": "relu", "cost": "cross_entropy", "optimizer": "momentum"},
        {**TINY, "activation": "tanh", "lr_schedule": "onecycle", "batch_size": 16},
        {**TINY, "layers": [12, 8], "optimizer": "sgd", "validation_size": 500},
    ]
    ids = [start_api_run(server, config) for config in more]
    infos = [wait_api_status(server, i, "finished", timeout=120) for i in ids]
    yield [*two_runs, *infos]
    for i in ids:
        httpx.delete(f"{server}/api/runs/{i}")


@pytest.mark.parametrize("width", [360, 820, 1024])
def test_the_differences_never_break_a_word(open_page, artifacts, server, five_runs, width) -> None:
    """On a phone, and where the differences card is the narrow column beside the chart, the
    table wraps between words or scrolls sideways; a field, a value or a run's id is never cut
    in the middle."""
    page = open_page(width=width, height=800)
    open_compare(page, server, f"?runs={','.join(i['id'] for i in five_runs)}")
    wait_for(page, "() => document.querySelectorAll('#compare-diff tbody tr').length >= 5")
    page.get_by_test_id("compare-diff").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"compare-diff-{width}.png"))
    assert page.evaluate(WORDS_BROKEN) == []
    # The page itself does not scroll sideways: only the table's own box may.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert csp_violations(page) == []

"""Issue 19 defect 4: every lesson step brings its subject and its controls into view and puts
its card beside them, at 1280×800 and as a phone at 390×844, in both themes.

For each step the test measures, after the page has stopped scrolling, every element the step
talks about (named here by the page's ids and test ids, not taken from the lesson's code): it
must be fully inside the viewport and not under the lesson card. The measurements go to
artifacts/measurements.json and each step's screenshot to artifacts/lesson/ (and to
$NNP_LESSON_SCREENS if set) to be looked at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .test_playground import choose_model
from .waits import wait_for

STEPS = 12
# What each step talks about and the controls it asks the learner to use.
SUBJECTS = {
    1: ["#draw-canvas", "#seen-canvas"],  # the pad and the 28×28 input grid it explains
    2: ["#network-canvas"],
    3: ["#network-canvas"],  # the neuron's incoming connections
    4: ["#neuron-detail [data-testid=term-z]", "#neuron-detail .act-plot"],  # sum, bias, σ
    5: ["[data-testid=layer-W]", "[data-testid=layer-row-mark]"],
    6: ["#network-canvas"],
    7: ["[data-testid=cost-label]", "[data-testid=cost-table]", "[data-testid=cost-sum]"],
    8: ["[data-testid=descent-run]", "[data-testid=descent-curve]", "[data-testid=descent-eta]"],
    9: ["[data-testid=weights-grid]"],  # the first layer's weight maps
    10: ["#dreams-grid"],
    11: ["#network-canvas", "#nudge-legend"],
    12: ["[data-testid=train-start]", "#f-layers", "#f-learning_rate", "#f-epochs"],
}
TITLES = {9: "looking for", 10: "dreams"}  # the video's payoff (defect 5), in its order

MEASURE = """(sels) => {
  const card = document.querySelector('[data-testid=lesson]').getBoundingClientRect();
  const vw = document.documentElement.clientWidth, vh = innerHeight;
  return sels.map((s) => {
    const e = document.querySelector(s);
    if (!e) return { sel: s, missing: true };
    const r = e.getBoundingClientRect();
    const ix = Math.max(0, Math.min(r.right, card.right) - Math.max(r.left, card.left));
    const iy = Math.max(0, Math.min(r.bottom, card.bottom) - Math.max(r.top, card.top));
    const vx = Math.max(0, Math.min(r.right, vw) - Math.max(r.left, 0));
    const vy = Math.max(0, Math.min(r.bottom, vh) - Math.max(r.top, 0));
    const area = r.width * r.height;
    return { sel: s, top: Math.round(r.top), bottom: Math.round(r.bottom),
             height: Math.round(r.height), visible: area ? (vx * vy) / area : 0,
             covered: area ? (ix * iy) / area : 1 };
  });
}"""

LAID_OUT = """(sels) => window.__nnp.settled() && sels.every((s) => {
  const e = document.querySelector(s);
  return e && e.getBoundingClientRect().height > 0;
})"""

STILL = """() => new Promise((resolve) => {
  let last = null, same = 0;
  const tick = () => {
    const c = document.querySelector('[data-testid=lesson]').getBoundingClientRect();
    const now = `${scrollY}|${c.top}|${c.left}|${c.height}`;
    same = now === last ? same + 1 : 0;
    last = now;
    if (same >= 8) resolve(true); else requestAnimationFrame(tick);
  };
  tick();
})"""


def screens_dir(artifacts: Path) -> list[Path]:
    dirs = [artifacts / "lesson"]
    if os.environ.get("NNP_LESSON_SCREENS"):
        dirs.append(Path(os.environ["NNP_LESSON_SCREENS"]))
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    return dirs


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_every_step_shows_its_subject_beside_the_card(
    open_page, artifacts, record, width: int, height: int, theme: str
) -> None:
    page = open_page(width, height)
    if page.evaluate("document.documentElement.dataset.theme") != theme:
        page.locator("#theme-toggle").click()
    choose_model(page, "3b1b")
    page.get_by_test_id("learn-open").click()
    page.get_by_test_id("lesson-draw").click()
    wait_for(page, "window.__nnp.settled() && document.querySelector('#prediction').textContent")
    dirs = screens_dir(artifacts)
    measured = {}
    failures = []
    for n in range(1, STEPS + 1):
        if n > 1:
            page.get_by_test_id("lesson-next").click()
        try:
            wait_for(page, "n => location.hash === `#learn=${n}`", arg=n, timeout=5000)
        except TimeoutError:
            failures.append((n, {"missing step": n}))
            break
        # The step's panels fill in from the server's answers, then the card re-plans around
        # them: wait until the answers are in and every subject is laid out, then until the
        # card and the scroll stay still.
        wait_for(page, LAID_OUT, arg=SUBJECTS[n], timeout=10000)
        page.evaluate(STILL)
        title = page.locator("#lesson-title").text_content()
        if n in TITLES and TITLES[n] not in title:
            failures.append((n, {"title": title, "want": TITLES[n]}))
        rows = page.evaluate(MEASURE, SUBJECTS[n])
        measured[n] = rows
        for r in rows:
            if r.get("missing") or r["visible"] < 0.999 or r["covered"] > 0:
                failures.append((n, r))
        for d in dirs:
            page.screenshot(path=str(d / f"step{n:02d}-{width}x{height}-{theme}.png"))
    record(f"lesson view {width}x{height} {theme}", {str(k): v for k, v in measured.items()})
    assert not failures, "steps whose subject is hidden or under the card:\n" + "\n".join(
        f"step {n}: {r}" for n, r in failures
    )

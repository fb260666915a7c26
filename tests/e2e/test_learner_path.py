"""Issue 19, the learner's path, in a real Chromium against a real server: one test per defect
a new learner meets (Esc in the lesson, the cost of a known test digit, the smoothed curve,
"% sure", the small things), plus the page side of issue 20 (a run's status has one owner).

Expected values come from the server's API or from the definitions the issue gives, never from
the page's own code.
"""

from __future__ import annotations

import itertools
import json
import re

import httpx

from .conftest import run_server
from .test_attacks import LONG_RUN
from .test_explain_page import close, shown
from .test_playground import SEVEN, choose_model, draw_and_predict, predictions, stroke
from .test_train_panel import fill_form, run_info, start_from_page
from .waits import wait_for

SHOWN_DIGIT = "document.querySelector('[data-testid=prediction]').textContent"


def test_esc_closes_the_lesson_and_never_loses_the_drawing(open_page) -> None:
    """Defect 1: Esc during the lesson closes it (wherever focus is); Clear is undoable."""
    page = open_page()
    choose_model(page, "3b1b")
    drawn = draw_and_predict(page, SEVEN)
    page.get_by_test_id("learn-open").click()
    assert page.get_by_test_id("lesson").is_visible()
    # The lesson asks for a neuron: click one (focus leaves the card).
    page.locator("#network-canvas").scroll_into_view_if_needed()
    pt = page.evaluate("window.__nnp.neuronPoint(1, 0)")
    page.mouse.click(pt["x"], pt["y"])
    page.keyboard.press("Escape")
    wait_for(page, "document.querySelector('[data-testid=lesson]').hidden", timeout=3000)
    assert page.evaluate(SHOWN_DIGIT) == drawn, "Esc in the lesson erased the drawing"
    # With the lesson closed Esc clears the drawing, and Ctrl+Z brings it back.
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("Escape")
    wait_for(page, f"{SHOWN_DIGIT} === ''", timeout=3000)
    before = predictions(page)
    page.keyboard.press("Control+z")
    wait_for(page, f"n => window.__nnp.predictions > n && {SHOWN_DIGIT} !== ''", arg=before)
    assert page.evaluate(SHOWN_DIGIT) == drawn
    # The Clear button is undoable too.
    page.get_by_test_id("clear").click()
    page.get_by_role("button", name="Undo").click()
    wait_for(page, f"d => {SHOWN_DIGIT} === d", arg=drawn, timeout=10000)


def a_digit_3b1b_gets_wrong(server: str) -> dict:
    """A real MNIST test digit the 3b1b network misreads, found through the API."""
    for index in range(400):
        digit = httpx.get(f"{server}/api/digits/{index}").json()
        res = httpx.post(f"{server}/api/predict", json={"pixels": digit["pixels"], "model": "3b1b"})
        if res.json()["digit"] != digit["label"]:
            return digit
    raise AssertionError("3b1b read the first 400 test digits right")


def test_the_cost_of_a_test_digit_starts_at_its_known_label(open_page, server) -> None:
    """Defect 2: "This is a ___" starts at a test digit's label, not the network's mistake."""
    digit = a_digit_3b1b_gets_wrong(server)
    page = open_page()
    choose_model(page, "3b1b")
    page.route(
        "**/api/digits/random",
        lambda route: route.fulfill(content_type="application/json", body=json.dumps(digit)),
    )
    labels: list[int] = []
    page.on(
        "request",
        lambda r: (
            labels.append(json.loads(r.post_data or "{}").get("label"))
            if r.url.endswith("/api/explain") and r.method == "POST"
            else None
        ),
    )
    page.get_by_role("button", name="Random test digit").click()
    label = str(digit["label"])
    wait_for(
        page,
        "d => document.querySelector('[data-testid=prediction]').textContent === d",
        arg=str(
            httpx.post(
                f"{server}/api/predict", json={"pixels": digit["pixels"], "model": "3b1b"}
            ).json()["digit"]
        ),
    )
    checked = "document.querySelector('#cost-label [aria-checked=true]')"
    wait_for(page, f"l => {checked} && {checked}.textContent === l", arg=label, timeout=10000)
    assert "known label" in page.get_by_test_id("cost-label-source").text_content()
    wait_for(page, "window.__nnp.settled()")
    assert labels and labels[-1] == digit["label"], labels
    # A stroke makes it a drawing: the label starts at the prediction again, and says so.
    stroke(page, [(0.1, 0.1), (0.2, 0.15)])
    wait_for(
        page,
        "document.querySelector('[data-testid=cost-label-source]').textContent"
        '.includes("network\'s guess")',
        timeout=5000,
    )


SMOOTHED = """async ([every, window]) => {
  const { CostChart } = await import('/static/js/chart.js');
  const canvas = document.createElement('canvas');
  canvas.style.width = '400px'; canvas.style.height = '200px';
  document.body.append(canvas);
  const chart = new CostChart(canvas, document.createElement('div'));
  if (window !== null) chart.setSmoothing(window);
  const step = [], cost = [];
  for (let s = 0; s <= 1100; s += every) { step.push(s); cost.push(s < 1000 ? 1 : 0); }
  chart.addPoints({ step, cost });
  const c = chart.cost;
  const i = Array.from(c.x.slice(0, c.n)).indexOf(1100);
  canvas.remove();
  return { smoothed: c.s[i], raw: c.y[i] };
}"""


def test_the_smoothed_curve_follows_training_steps(open_page) -> None:
    """Defect 3: the smoothing is by training step, not by reported point, and the learner picks
    it. The cost drops from 1 to 0 at step 1000; 100 steps later the smoothed curve must have
    followed most of the way, whether points came every 25 steps or every step."""
    page = open_page()
    fast = page.evaluate(SMOOTHED, [25, None])
    slow = page.evaluate(SMOOTHED, [1, None])
    assert fast["smoothed"] < 0.5, f"lags by hundreds of steps at full speed: {fast}"
    # A point stands for the steps since the one before: sampling alone moves it by ~0.08.
    assert abs(fast["smoothed"] - slow["smoothed"]) < 0.12, (fast, slow)
    # The learner's choice: "none" shows the raw cost; the options are steps.
    options = page.locator("[data-testid=smoothing] option").all_text_contents()
    assert "none" in options and any("steps" in o for o in options), options
    none = page.evaluate(SMOOTHED, [25, 0])
    assert none["smoothed"] == none["raw"] == 0


def test_the_accuracy_axis_fits_the_accuracies(open_page) -> None:
    """Defect 10: the accuracy axis spans what was measured, not always 0–100%."""
    page = open_page()
    lo = page.evaluate("""async () => {
      const { CostChart } = await import('/static/js/chart.js');
      const canvas = document.createElement('canvas');
      document.body.append(canvas);
      const chart = new CostChart(canvas, document.createElement('div'));
      chart.addPoints({ step: [1, 2], cost: [0.5, 0.4] });
      chart.addEvaluation({ step: 2, epoch: 1, validation_accuracy: 0.95, test_accuracy: 0.96 });
      const axis = chart.accuracyAxis();
      canvas.remove();
      return axis[0];
    }""")
    assert 0.5 <= lo <= 0.95


def test_sure_says_what_it_is(open_page, server) -> None:
    """Defect 7: sigmoid outputs are not "% sure" shares of their sum; an all-dark output layer
    is not "100% sure"."""
    page = open_page()
    choose_model(page, "3b1b")
    draw_and_predict(page, SEVEN)
    text = page.locator("#confidence").text_content()
    assert "% sure" not in text, text
    # The brightest sigmoid output as it is (the API's own activation), not its share.
    body = page.evaluate("window.__nnp.lastPredictBody()")
    res = httpx.post(
        f"{server}/api/predict", json={**body, "model": "3b1b", "include": ["activations"]}
    ).json()
    top = max(res["activations"][-1])
    assert f"{top:.3g}" in text, (text, top)
    # Every output dark (a collapsed run): no claim of certainty.
    dark = [0.01] * 10
    dark[6] = 0.02
    fake = {
        "digit": 6,
        "confidence": 0.18,
        "probabilities": [d / sum(dark) for d in dark],
        "model": "3b1b",
        "input": res.get("input"),
        "activations": [[0.5] * 16, [0.5] * 16, dark],
        "zs": None,
        "note": None,
    }
    page.route(
        "**/api/predict",
        lambda route: route.fulfill(content_type="application/json", body=json.dumps(fake)),
    )
    draw_and_predict(page, [(0.3, 0.3), (0.6, 0.7)])
    text = page.locator("#confidence").text_content()
    assert "100%" not in text and "not sure" in text, text


def test_the_small_things(open_page, server, page_errors) -> None:
    """Defect 10: a changed step rate doesn't silently replay the steps; validation messages in
    words; the live rate without float noise; too little ink said plainly."""
    page_errors.allow("status of 422")
    page = open_page()
    choose_model(page, "3b1b")
    draw_and_predict(page, SEVEN)
    steps: list[dict] = []
    page.on(
        "request",
        lambda r: (
            steps.append(json.loads(r.post_data)) if r.url.endswith("/api/explain/step") else None
        ),
    )
    page.get_by_test_id("step-take").click()
    wait_for(page, "document.querySelectorAll('[data-testid=step-state]').length === 2")
    page.get_by_test_id("step-take").click()
    wait_for(page, "document.querySelectorAll('[data-testid=step-state]').length === 3")
    sent = len(steps)
    page.fill("[data-testid=step-lr]", "0.5")
    page.locator("[data-testid=step-lr]").dispatch_event("change")
    page.wait_for_timeout(300)  # no request may follow: nothing to poll for
    assert len(steps) == sent, "changing the rate replayed the steps"
    assert "old rate" in page.locator("#step-message").text_content()
    # A validation message in words, named by the field's label.
    page.fill("[data-testid=step-lr]", "0")
    page.get_by_test_id("step-take").click()
    wait_for(page, "document.querySelector('#step-message').textContent.includes('Learning rate')")
    msg = page.locator("#step-message").text_content()
    assert "learning_rate" not in msg and "Input should" not in msg, msg
    assert "must be more than 0" in msg and "undefined" not in msg, msg  # the bound, in words
    page.fill("[data-testid=step-lr]", "101")
    page.get_by_test_id("step-take").click()
    wait_for(page, "document.querySelector('#step-message').textContent.includes('at most')")
    msg = page.locator("#step-message").text_content()
    assert "must be at most 100" in msg and "undefined" not in msg, msg
    page.fill("#f-learning_rate", "-1")
    page.get_by_test_id("train-start").click()
    page.locator("#err-learning_rate").wait_for(state="visible")
    err = page.locator("#err-learning_rate").text_content()
    assert err.startswith("Learning rate must be more than 0"), err
    # Too little ink: one clear sentence, not "empty" beside a count of pixels. A dab is read as
    # a guess with the server's note beside it (a drawing with next to no ink would be a 422,
    # worded under the pad). Wait for the answer to this drawing: right after Clear the pad's
    # own "Draw a digit" line is there, and the answer replaces it (the old wait could pass or
    # time out on that race: CI).
    page.get_by_test_id("clear").click()
    stroke(page, [(0.5, 0.5), (0.52, 0.5)])
    wait_for(page, "window.__nnp.settled()")
    ink = " ".join(page.locator(s).text_content() for s in ("#draw-message", "#prediction-note"))
    assert "bigger" in ink, ink
    assert "empty" not in ink or "pixel" not in ink, ink


def test_run_words_and_status_owner(open_page, server, page_errors) -> None:
    """Defect 10 and issue 20: the live rate has no float noise, a custom run is not listed as
    its preset, where it trains is plain words; a run that disappears is not made "stopped"."""
    page_errors.allow("status of 404")  # the browser logs the vanished run's requests
    page = open_page()
    page.select_option("#f-preset", "3b1b")
    fill_form(
        page,
        {
            "#f-layers": "20",
            "#f-epochs": "3",
            "#f-train_subset": "2000",
            "#f-learning_rate": "0.4997818147357552",
        },
    )
    run_id = start_from_page(page)
    httpx.post(f"{server}/api/runs/{run_id}/speed", json={"batches_per_second": 5})
    wait_for(page, "document.querySelector('#live-lr').value !== ''", timeout=30000)
    assert page.locator("#live-lr").input_value() == "0.4998"
    item = page.locator(f"[data-testid=recent-run][data-run-id='{run_id}']")
    item.wait_for()
    wait_for(
        page,
        "id => (document.querySelector(`[data-run-id='${id}'] .recent-cfg`)"
        ".textContent || '').startsWith('custom')",
        arg=run_id,
    )
    where = page.get_by_test_id("run-where")
    where.wait_for(state="visible", timeout=30000)
    assert "process" not in where.text_content()
    pid = run_info(server, run_id)["placement"]["pid"]
    assert str(pid) in where.get_attribute("title")
    # The run vanishes from the server: the page says so and stops watching; it does not
    # claim a "stopped" status nobody sent.
    assert httpx.delete(f"{server}/api/runs/{run_id}").status_code in (200, 204)
    page.evaluate("window.__nnp.dropRunSocket()")  # it reconnects, and hears there is no run
    wait_for(
        page,
        "document.querySelector('#run-message').textContent.includes('no longer')",
        timeout=20000,
    )
    assert page.get_by_test_id("run-status").text_content() != "stopped"


def test_finishing_the_lesson_leaves_nudges_mode(open_page) -> None:
    """Defect 6: after the lesson's Finish the network view is back to activations."""
    page = open_page(1280, 800, path="/#learn=1")
    page.get_by_test_id("lesson-draw").click()
    wait_for(page, "window.__nnp.settled() && document.querySelector('#prediction').textContent")
    for _ in range(20):  # on to the nudges step, as a learner would
        if page.get_by_test_id("mode-nudges").is_checked():
            break
        page.get_by_test_id("lesson-next").click()
    assert page.get_by_test_id("mode-nudges").is_checked()
    page.keyboard.press("End")
    assert page.get_by_test_id("lesson-next").text_content() == "Finish"
    page.get_by_test_id("lesson-next").click()
    wait_for(page, "document.querySelector('[data-testid=lesson]').hidden")
    assert page.get_by_test_id("mode-activations").is_checked()
    assert page.locator("#nudge-legend").is_hidden()


def test_the_network_and_the_matrix_work_from_the_keyboard(open_page) -> None:
    """Defect 8: the network view is one tab stop with arrow keys between neurons and a live
    description; the layer matrix's values are reachable without a mouse."""
    page = open_page(1280, 800)
    choose_model(page, "3b1b")
    draw_and_predict(page, SEVEN)
    # Tab from the control just before the network view lands on it.
    page.get_by_test_id("mode-nudges").focus()
    page.get_by_test_id("mode-activations").focus()
    for _ in range(6):
        if page.evaluate("document.activeElement.id") == "network-canvas":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "network-canvas"
    live = page.get_by_test_id("net-live")
    wait_for(page, "document.querySelector('[data-testid=net-live]').textContent !== ''")
    for _ in range(3):  # on to the outputs: hidden 1 → hidden 2 → output
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Home")
    for _ in range(7):
        page.keyboard.press("ArrowDown")
    wait_for(
        page, "document.querySelector('[data-testid=net-live]').textContent.startsWith('Output 7')"
    )
    assert "activation" in live.text_content()
    wait_for(page, "document.querySelector('#neuron-detail').textContent.includes('Output neuron')")
    # The matrix: one tab stop, arrows move a cell cursor whose values are read out.
    w = page.get_by_test_id("layer-W")
    w.scroll_into_view_if_needed()
    w.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    wait_for(
        page, "document.querySelector('[data-testid=layer-live]').textContent.startsWith('W[')"
    )
    assert page.get_by_test_id("layer-tip").is_visible()
    page.keyboard.press("Enter")
    # The cursor started on the selected neuron's row (output 7) and moved down one: Enter
    # selects row 8.
    mark = "document.querySelector('[data-testid=layer-row-mark]')"
    wait_for(page, f"{mark}.dataset.row === '8' && !{mark}.hidden")


def test_nudges_mode_shows_a_neurons_nudges(open_page, server) -> None:
    """Defect 6: in nudges mode a neuron's panel shows its −∂C/∂a and its incoming −∂C/∂w
    (checked against /api/explain), not the activation arithmetic."""
    page = open_page(1280, 800)
    choose_model(page, "3b1b")
    bodies: list[dict] = []
    page.on(
        "request",
        lambda r: (
            bodies.append(json.loads(r.post_data))
            if r.url.endswith("/api/explain") and r.method == "POST"
            else None
        ),
    )
    draw_and_predict(page, SEVEN)
    page.get_by_test_id("mode-nudges").check()
    wait_for(page, "window.__nnp.settled()")
    page.locator("#network-canvas").scroll_into_view_if_needed()
    pt = page.evaluate("window.__nnp.neuronPoint(1, 3)")
    page.mouse.click(pt["x"], pt["y"])
    detail = page.locator("#neuron-detail")
    wait_for(page, "document.querySelectorAll('#neuron-detail [data-testid=nudge-w]').length > 0")
    assert "Hidden layer 1, neuron 3" in detail.text_content()
    assert detail.locator("[data-testid=term-z]").count() == 0, "still the activation arithmetic"
    body = {k: v for k, v in bodies[-1].items() if k != "grad_weights"}
    res = httpx.post(
        f"{server}/api/explain", json={**body, "grad_weights": [{"layer": 0, "neurons": [3]}]}
    ).json()
    want_a = -res["grad_activations"][0][3]
    got_a = shown(detail.locator("[data-testid=nudge-a]").text_content())
    assert close(got_a, want_a), (got_a, want_a)
    grads = [-g for g in res["grad_weights"][0]["values"][0]]
    strongest = max(grads, key=abs)
    got_w = shown(detail.locator("[data-testid=nudge-w]").first.text_content())
    assert close(got_w, strongest), (got_w, strongest)
    # Back to activations: the arithmetic again.
    page.get_by_test_id("mode-activations").check()
    wait_for(page, "document.querySelector('#neuron-detail [data-testid=term-z]') !== null")


def test_a_phone_sees_the_pad_and_the_network_at_once(open_page) -> None:
    """Defect 9 at 390×844: the pad and the outputs share the first screen, hidden neurons are
    at least 24 px apart, the pad's buttons are touch-sized and the model list is not cut."""
    page = open_page(390, 844)
    choose_model(page, "3b1b")
    page.evaluate("window.scrollTo(0, 0)")
    pad = page.get_by_test_id("draw-canvas").bounding_box()
    assert pad["y"] >= 0 and pad["y"] + pad["height"] <= 844
    outputs = [page.evaluate("i => window.__nnp.neuronPoint(3, i)", i) for i in range(10)]
    assert all(0 <= p["y"] <= 844 - 8 and 0 <= p["x"] <= 390 for p in outputs), outputs
    for layer in (1, 2):
        ys = [
            page.evaluate("a => window.__nnp.neuronPoint(...a)", [layer, i])["y"] for i in range(16)
        ]
        gap = min(b - a for a, b in itertools.pairwise(ys))
        assert gap >= 24, (layer, gap)
    for name in ("Clear", "Undo", "Random test digit"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box["height"] >= 24 and box["width"] >= 24, (name, box)
    # The model list: its chosen name fits in the box.
    fits = page.evaluate("""() => {
      const s = document.querySelector('[data-testid=model-select]');
      const c = document.createElement('canvas').getContext('2d');
      c.font = getComputedStyle(s).font;
      const text = s.options[s.selectedIndex].textContent;
      const r = s.getBoundingClientRect();
      return { text: c.measureText(text).width, room: r.width - 40, right: r.right };
    }""")
    assert fits["text"] <= fits["room"] and fits["right"] <= 390, fits
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


# The inked fraction of a cross-section of the lines into neuron j of the first hidden layer:
# an arc round the neuron's input point, at a fraction t of the way from the input grid, across
# the fan of lines that can be drawn there: only drawn pixels (`ink`, indices of the 784) have a
# nonzero −∂C/∂w = δ_j·a_i. A sample is inked when its alpha is at least a quarter: the other
# neurons' lines are drawn at a fifth of their opacity, so even overlapping they stay under it.
FAN_INK = """async ([j, t, ink]) => {
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const canvas = document.getElementById('network-canvas');
  const r = canvas.getBoundingClientRect();
  const sx = canvas.width / r.width, sy = canvas.height / r.height;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const end = window.__nnp.connectionPoint(1, j, 0, 1);  // where every line ends
  const mid = window.__nnp.connectionPoint(1, j, 14 * 28 + 14, 0);
  const axis = Math.atan2(mid.y - end.y, mid.x - end.x);  // angles relative to it: no wrap
  let lo = Infinity, hi = -Infinity, dist = 0;
  for (const i of ink) {
    const p = window.__nnp.connectionPoint(1, j, i, 0);
    const d = Math.atan2(p.y - end.y, p.x - end.x) - axis;
    const a = axis + Math.atan2(Math.sin(d), Math.cos(d));
    lo = Math.min(lo, a); hi = Math.max(hi, a);
    dist += Math.hypot(p.x - end.x, p.y - end.y) / ink.length;
  }
  // The 28×28 picture is drawn over the lines' ends: samples on it (and a cell round it) skip.
  const first = window.__nnp.connectionPoint(1, j, 0, 0);
  const last = window.__nnp.connectionPoint(1, j, 783, 0);
  const cell = (last.x - first.x) / 27;
  const onGrid = (x, y) => x >= first.x - cell && x <= last.x + cell
    && y >= first.y - cell && y <= last.y + cell;
  const radius = dist * (1 - t);
  const n = Math.ceil((hi - lo) * radius * 2);  // two samples per CSS px of arc
  let inked = 0, samples = 0, runs = 0, was = false;
  for (let k = 0; k <= n; k++) {
    const a = lo + (hi - lo) * k / n;
    const px = end.x + radius * Math.cos(a), py = end.y + radius * Math.sin(a);
    if (onGrid(px, py)) { was = false; continue; }
    const x = Math.round((px - r.left) * sx), y = Math.round((py - r.top) * sy);
    const on = data[(y * canvas.width + x) * 4 + 3] >= 64;
    samples++;
    if (on) inked++;
    if (on && !was) runs++;
    was = on;
  }
  return { fraction: inked / Math.max(1, samples), runs, samples, radius };
}"""

# The drawn input pixels, read off the network view's own 28×28 picture (bright cells).
INKED_PIXELS = """() => {
  const canvas = document.getElementById('network-canvas');
  const r = canvas.getBoundingClientRect();
  const sx = canvas.width / r.width, sy = canvas.height / r.height;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const out = [];
  for (let i = 0; i < 784; i++) {
    const p = window.__nnp.connectionPoint(1, 0, i, 0);
    const k = (Math.round((p.y - r.top) * sy) * canvas.width + Math.round((p.x - r.left) * sx)) * 4;
    if ((data[k] + data[k + 1] + data[k + 2]) / 3 > 100) out.push(i);
  }
  return out;
}"""


def test_nudges_into_a_first_layer_neuron_are_lines_not_a_wedge(open_page, artifacts) -> None:
    """Defect 6: in nudges mode the selected neuron's incoming lines from the 784 inputs stay
    separate lines (ink and background alternate across the fan), not a solid wedge."""
    page = open_page(1280, 800)
    choose_model(page, "3b1b")
    draw_and_predict(page, SEVEN)
    page.get_by_test_id("mode-nudges").check()
    wait_for(page, "window.__nnp.settled()")
    page.locator("#network-canvas").scroll_into_view_if_needed()
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    ink = page.evaluate(INKED_PIXELS)
    assert 30 <= len(ink) <= 400, len(ink)  # the seven, as the view shows it
    found = {}
    for j in (0, 5, 10, 15):
        pt = page.evaluate("j => window.__nnp.neuronPoint(1, j)", j)
        page.mouse.click(pt["x"], pt["y"])
        wait_for(
            page,
            "j => document.querySelector('#neuron-detail').textContent"
            ".includes(`Hidden layer 1, neuron ${j}`)"
            " && document.querySelector('#neuron-detail [data-testid=nudge-w]')",
            arg=j,
        )
        found[j] = {t: page.evaluate(FAN_INK, [j, t, ink]) for t in (0.5, 0.75)}
    (artifacts / "nudge-fan-ink.json").write_text(json.dumps(found, indent=2))
    page.locator("#network-canvas").screenshot(path=str(artifacts / "nudge-fan.png"))
    # Halfway from the picture to the neuron the fan is mostly background between its lines
    # (the 300-line drawing inked 100% of it, the 40-line one 81–100%). Nearer the neuron any
    # lines converge: t = 0.75 is recorded in the artifact, not asserted.
    for j, at in found.items():
        m = at[0.5]
        assert m["samples"] >= 40 and m["runs"] >= 1, (j, m)  # measured, and lines are drawn
        assert m["fraction"] <= 0.5, (j, m)


def test_a_metrics_message_never_changes_the_shown_status(open_page, mnist_dir, tmp_path) -> None:
    """Issue 20: the status shown is the server's. A run queued behind another (one training
    slot) that hears a metrics message, here injected into its real WebSocket, stays "queued"
    on the page (the page used to make it "running")."""
    with run_server(tmp_path / "one-slot", NNP_MNIST_DIR=str(mnist_dir), NNP_MAX_RUNS="1") as base:
        first = httpx.post(f"{base}/api/runs", json=LONG_RUN, timeout=10)
        assert first.status_code == 201, first.text
        httpx.post(f"{base}/api/runs/{first.json()['id']}/speed", json={"batches_per_second": 1})
        page = open_page(1280, 800, base=base)
        routes = []

        def watch(ws) -> None:  # the page's socket, passed through to the real server
            ws.connect_to_server()
            routes.append(ws)

        page.route_web_socket(re.compile(r"/api/runs/[^/]+/events$"), watch)
        page.select_option("#f-preset", "3b1b")
        fill_form(page, {"#f-epochs": "1", "#f-train_subset": "2000"})
        run_id = start_from_page(page)
        status = page.get_by_test_id("run-status")
        wait_for(
            page, "document.querySelector('[data-testid=run-status]').textContent === 'queued'"
        )
        assert run_info(base, run_id)["status"] == "queued"
        assert routes, "the page's run socket was not seen"
        seen = page.evaluate("window.__nnp.metricsMessages")
        points = {"step": [1], "epoch": [0.01], "cost": [0.9], "accuracy": [0.1]}
        routes[-1].send(
            json.dumps(
                {
                    "type": "metrics",
                    "step": 1,
                    "epoch": 0.01,
                    "samples_seen": 32,
                    "cost": 0.9,
                    "batch_accuracy": 0.1,
                    "samples_per_second": 100.0,
                    "learning_rate": 0.5,
                    "progress": {"step": 1, "epoch": 0.01},
                    "points": points,
                    "emitted_at": 0,
                }
            )
        )
        wait_for(page, "n => window.__nnp.metricsMessages > n", arg=seen)
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        assert status.text_content() == "queued"
        assert run_info(base, run_id)["status"] == "queued"


def test_nudges_of_a_mid_sized_first_layer_are_shown(open_page, server) -> None:
    """Review #12: with 26-141 first-layer neurons (here 64: 50,176 input weights, over the
    20,000 a whole layer may have) the page judged the layer by its own width and never asked
    for its most nudged rows: no input→layer-1 nudges, and a first-layer neuron's panel waited
    forever. Now it asks for them, and a neuron among them shows its weights' nudges."""
    from app.nn.network import Network
    from app.nn.serialize import model_to_bytes

    data = model_to_bytes(Network([784, 64, 10], seed=0), {})
    r = httpx.post(f"{server}/api/models", files={"file": ("mid.npz", data)}, data={"name": "mid"})
    assert r.status_code == 201, r.text
    model_id = r.json()["id"]
    try:
        page = open_page(1280, 800)
        page.reload()  # the model list as it is now
        # …and the page's own start-up (restoring the address's state) done before choosing
        wait_for(page, "window.__nnp && window.__nnp.ready", timeout=15000)
        choose_model(page, model_id)

        def first_layer_rows(request) -> list[int] | None:  # type: ignore[no-untyped-def]
            if not (request.url.endswith("/api/explain") and request.method == "POST"):
                return None
            asks = json.loads(request.post_data).get("grad_weights", [])
            return next((g["neurons"] for g in asks if g["layer"] == 0 and g.get("neurons")), None)

        draw_and_predict(page, SEVEN)
        with page.expect_request(lambda q: bool(first_layer_rows(q)), timeout=30_000) as info:
            page.get_by_test_id("mode-nudges").check()
        rows = first_layer_rows(info.value)
        assert rows, "the page never asked for the first layer's most nudged rows"
        wait_for(page, "window.__nnp.settled()")
        neuron = rows[0]
        page.locator("#network-canvas").scroll_into_view_if_needed()
        pt = page.evaluate(f"window.__nnp.neuronPoint(1, {neuron})")
        page.mouse.click(pt["x"], pt["y"])
        wait_for(
            page, "document.querySelectorAll('#neuron-detail [data-testid=nudge-w]').length > 0"
        )
    finally:
        httpx.delete(f"{server}/api/models/{model_id}")

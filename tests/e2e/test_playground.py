"""The playground page in a real Chromium against a real server.

Draw with the mouse and read the prediction; clear; look inside a neuron; train a short run
and watch its curve, probe and controls; save it as a model; reload mid-training; measure the
page's two bars (first prediction latency, frames per second while training) without asserting
them beyond generous sanity limits — machines are noisy.
"""

from __future__ import annotations

import math
import time

import httpx
import pytest

from .waits import wait_for

# Strokes in fractions of the pad (0..1): what a person would draw.
ONE = [(0.53, 0.14), (0.51, 0.4), (0.49, 0.62), (0.47, 0.86)]
SEVEN = [(0.24, 0.2), (0.5, 0.19), (0.76, 0.2), (0.62, 0.45), (0.52, 0.66), (0.44, 0.86)]
ZERO = [
    (0.5 + 0.21 * math.sin(t / 36 * 2 * math.pi), 0.5 - 0.32 * math.cos(t / 36 * 2 * math.pi))
    for t in range(38)
]

# A run long enough to pause, reload and measure, short per epoch so evaluations come fast.
RUN_FORM = {
    "#f-layers": "16, 16",
    "#f-epochs": "100",
    "#f-train_subset": "12000",
    "#f-batch_size": "16",
    "#f-learning_rate": "0.003",
}


def stroke(page, points, steps: int = 4) -> None:
    box = page.get_by_test_id("draw-canvas").bounding_box()

    def at(p):
        return box["x"] + p[0] * box["width"], box["y"] + p[1] * box["height"]

    page.mouse.move(*at(points[0]))
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*at(p), steps=steps)
    page.mouse.up()


def neuron_point(page, layer: int, index: int) -> dict:
    """Scroll the network into view and return a neuron's centre in viewport pixels."""
    page.locator("#network-canvas").scroll_into_view_if_needed()
    return page.evaluate("([l, i]) => window.__nnp.neuronPoint(l, i)", [layer, index])


def predictions(page) -> int:
    return page.evaluate("window.__nnp.predictions")


def draw_and_predict(page, points) -> str:
    before = predictions(page)
    stroke(page, points)
    # The prediction follows the stroke while it is drawn: wait for the finished drawing's.
    ready = "n => window.__nnp.predictions > n && window.__nnp.settled()"
    wait_for(page, ready, arg=before, timeout=10000)
    return page.get_by_test_id("prediction").text_content()


def choose_model(page, value: str) -> None:
    page.get_by_test_id("model-select").select_option(value)
    wait_for(
        page,
        "v => { const s = window.__nnp.selected();"
        " return s && (s.kind === 'run' ? 'run:' + s.id : s.id) === v; }",
        arg=value,
    )


def clear(page) -> None:
    page.get_by_test_id("clear").click()
    assert page.get_by_test_id("prediction").text_content() == ""


def step_of(page) -> int:
    return int(page.get_by_test_id("run-step").text_content() or 0)


def wait_step_above(page, n: int, timeout: float = 30000) -> None:
    wait_for(
        page,
        "n => Number(document.querySelector('[data-testid=run-step]').textContent) > n",
        arg=n,
        timeout=timeout,
    )


def wait_text(page, selector: str, fragment: str, timeout: float = 15000) -> None:
    wait_for(
        page,
        "([sel, frag]) => (document.querySelector(sel).textContent || '').includes(frag)",
        arg=[selector, fragment],
        timeout=timeout,
    )


def wait_status(page, status: str, timeout: float = 30000) -> None:
    try:
        wait_for(
            page,
            "s => document.querySelector('[data-testid=run-status]').textContent === s",
            arg=status,
            timeout=timeout,
        )
    except TimeoutError as error:  # say what the page and the server saw (a rare CI failure)
        seen = page.evaluate(
            """async () => {
              const id = window.__nnp.runId();
              const server = id ? await fetch(`/api/runs/${id}`).then((r) => r.json()) : null;
              return {
                id, url: location.href,
                shown: document.querySelector('[data-testid=run-status]').textContent,
                message: document.getElementById('run-message').textContent,
                server: server && {status: server.status, reason: server.reason},
                live: await fetch('/api/runs').then((r) => r.json())
                  .then((d) => d.runs.map((r) => [r.id, r.status])),
              };
            }"""
        )
        raise TimeoutError(f"{error}; saw {seen}") from error


def test_page_opens_on_the_3b1b_model(open_page) -> None:
    page = open_page()
    assert page.get_by_test_id("model-select").input_value() == "3b1b"
    assert page.get_by_test_id("prediction").text_content() == ""
    assert page.title() == "nn-playground"
    # Real, labelled buttons
    for tid in ["clear", "train-start", "train-pause", "train-resume", "train-stop", "train-save"]:
        el = page.get_by_test_id(tid)
        assert el.evaluate("e => e.tagName") == "BUTTON"
        assert el.text_content().strip()


def test_draw_digits_and_clear(open_page, artifacts) -> None:
    page = open_page()
    choose_model(page, "accurate")
    assert draw_and_predict(page, ONE) == "1"
    # The 28×28 the network saw is shown, and the prediction is announced politely.
    assert "1" in page.locator("#announce").text_content()
    clear(page)
    assert draw_and_predict(page, ZERO) == "0"
    clear(page)
    assert draw_and_predict(page, SEVEN) == "7"
    page.screenshot(path=str(artifacts / "draw-7-1280x800.png"))
    clear(page)
    assert "Draw a digit" in page.locator("#draw-message").text_content()

    # Undo takes back the last stroke: a "1" plus a stray dot, undone, is a "1" again.
    draw_and_predict(page, ONE)
    draw_and_predict(page, [(0.15, 0.85), (0.18, 0.86)])
    before = predictions(page)
    page.keyboard.press("Control+z")
    wait_for(page, "n => window.__nnp.predictions > n", arg=before)
    assert page.get_by_test_id("prediction").text_content() == "1"
    # Escape clears.
    page.get_by_test_id("draw-canvas").focus()
    page.keyboard.press("Escape")
    assert page.get_by_test_id("prediction").text_content() == ""


def test_first_prediction_latency(open_page, record) -> None:
    page = open_page()
    results = {}
    for model in ["3b1b", "accurate"]:
        choose_model(page, model)
        samples = []
        for points in [ONE, ZERO, SEVEN, ONE, ZERO, SEVEN]:
            clear(page)
            page.evaluate("window.__nnp.lastPredictLatencyMs = null")
            draw_and_predict(page, points)
            samples.append(page.evaluate("window.__nnp.lastPredictLatencyMs"))
        samples.sort()
        results[model] = {
            "samples_ms": [round(s, 1) for s in samples],
            "median_ms": round(samples[len(samples) // 2], 1),
            "max_ms": round(samples[-1], 1),
        }
        # Sanity only: the bar (150 ms) is reported, not asserted, on a shared machine.
        assert samples[len(samples) // 2] < 2000
    record("first_prediction_latency", results)


def test_neuron_details(open_page) -> None:
    page = open_page()
    draw_and_predict(page, ONE)
    wait_for(page, "() => window.__nnp.neuronPoint(1, 0) !== null")
    # First hidden layer: bias, z, activation and the 28×28 weight heat map.
    p = neuron_point(page, 1, 3)
    page.mouse.move(p["x"], p["y"])
    page.wait_for_selector("#neuron-detail figure.heat canvas")
    text = page.locator("#neuron-detail").text_content()
    assert "Hidden layer 1, neuron 3" in text
    assert "bias" in text and "weighted sum z" in text and "activation a" in text
    # Later layer: its strongest inputs.
    p = neuron_point(page, 2, 5)
    page.mouse.click(p["x"], p["y"])
    page.wait_for_selector("#neuron-detail ul.inputs li")
    # An output neuron, by its label.
    p = neuron_point(page, 3, 1)
    page.mouse.move(p["x"], p["y"])
    wait_text(page, "#neuron-detail", "Output neuron")


def test_random_test_digit(open_page) -> None:
    page = open_page()
    choose_model(page, "accurate")
    before = predictions(page)
    page.get_by_role("button", name="Random test digit").click()
    wait_for(page, "n => window.__nnp.predictions > n", arg=before, timeout=15000)
    label = page.locator("#digit-label").text_content()
    assert "labelled" in label
    assert page.get_by_test_id("prediction").text_content() in list("0123456789")


def test_validation_message_next_to_the_field(open_page, page_errors) -> None:
    # The browser itself logs the refused request ("Failed to load resource ... 422").
    page_errors.allow("status of 422")
    page = open_page()
    page.fill("#f-layers", "16, 5000")
    page.get_by_test_id("train-start").click()
    err = page.locator("#err-layers")
    err.wait_for(state="visible")
    assert err.text_content().strip()
    assert page.get_by_test_id("run-status").text_content() == "idle"


def test_server_unreachable_banner(open_page, page_errors) -> None:
    page_errors.allow("net::ERR_FAILED")
    page = open_page()
    page.route("**/api/predict", lambda route: route.abort())
    stroke(page, ONE)
    banner = page.locator("#banner")
    banner.wait_for(state="visible")
    assert "reach the server" in banner.text_content()
    page.unroute("**/api/predict")
    # The health poll notices the server again and the banner goes away by itself.
    banner.wait_for(state="hidden", timeout=15000)


def test_train_live(open_page, server, artifacts, record) -> None:
    page = open_page()
    stroke(page, SEVEN)  # the probe: it should be re-predicted as the network learns
    wait_for(page, "() => window.__nnp.predictions > 0")
    page.select_option("#f-preset", "3b1b")
    for sel, value in RUN_FORM.items():
        page.fill(sel, value)
    page.get_by_test_id("train-start").click()
    wait_status(page, "running")
    run_id = page.evaluate("window.__nnp.runId()")
    assert run_id
    # The canvas now asks the training run (the model select follows it).
    assert page.get_by_test_id("model-select").input_value() == f"run:{run_id}"

    # run-step advances, the chart receives points over the WebSocket, the probe updates.
    wait_step_above(page, 200)
    wait_for(page, "() => window.__nnp.chartPoints() > 20")
    wait_for(page, "() => window.__nnp.metricsMessages > 3")
    wait_for(page, "() => window.__nnp.probes >= 3", timeout=20000)
    assert page.get_by_test_id("prediction").text_content() in list("0123456789")
    # After an epoch: accuracy points, a confusion matrix and the mistakes gallery.
    page.wait_for_selector("#confusion table.cm", timeout=30000)
    page.wait_for_selector("#gallery figure.thumb canvas", timeout=15000)

    # Frames per second while it trains and the chart + network view update.
    fps = page.evaluate("window.__nnp.measureFps(3000)")
    fps["chart_points"] = page.evaluate("window.__nnp.chartPoints()")
    record("fps_while_training", fps)
    assert fps["fps"] > 10  # sanity only
    page.screenshot(path=str(artifacts / "training-1280x800.png"), full_page=True)

    # Click a confusion cell → those digits.
    page.locator("#confusion button.off").first.click()
    wait_text(page, "#gallery-title", "predicted")

    # Pause: the step stops moving; Step trains exactly one batch; Resume moves on.
    page.get_by_test_id("train-pause").click()
    wait_status(page, "paused")
    # Once paused, the server's step is final; wait for the page to show it.
    paused_at = page.evaluate(
        "fetch('/api/runs').then(r => r.json())"
        ".then(d => d.runs.find(r => r.status === 'paused').progress.step)"
    )
    wait_for(
        page,
        "n => Number(document.querySelector('[data-testid=run-step]').textContent) === n",
        arg=paused_at,
        timeout=10000,
    )
    time.sleep(0.8)  # absence of progress can only be seen over a window of time
    assert step_of(page) == paused_at
    page.get_by_test_id("train-step").click()
    wait_step_above(page, paused_at)
    page.get_by_test_id("train-resume").click()
    wait_status(page, "running")
    wait_step_above(page, paused_at + 50)

    # A dropped WebSocket reconnects by itself and resynchronises from a new snapshot.
    snapshots = page.evaluate("window.__nnp.snapshots")
    page.evaluate("window.__nnp.dropRunSocket()")
    wait_for(page, "n => window.__nnp.snapshots > n", arg=snapshots, timeout=10000)
    wait_step_above(page, step_of(page))

    # A second tab joins the run and gets the whole curve so far.
    other = open_page(390, 844)
    wait_status(other, "running")
    wait_for(other, "() => window.__nnp.chartPoints() > 20")
    other.screenshot(path=str(artifacts / "training-390x844.png"), full_page=True)

    # Reload mid-training: the curve comes back from the snapshot.
    points_before = page.evaluate("window.__nnp.chartPoints()")
    page.reload()
    wait_for(page, "window.__nnp && window.__nnp.ready")
    wait_status(page, "running")
    wait_for(page, "n => window.__nnp.chartPoints() >= n", arg=points_before)

    # Stop, save as a model, and pick it in the model select.
    page.get_by_test_id("train-stop").click()
    wait_status(page, "stopped")
    wait_status(other, "stopped")
    page.fill("#save-name", "e2e net")
    page.get_by_test_id("train-save").click()
    wait_text(page, "#run-message", "Saved")
    models = httpx.get(f"{server}/api/models").json()["models"]
    saved = [m for m in models if not m["shipped"] and m.get("source_run") == run_id]
    assert saved, models
    choose_model(page, saved[0]["id"])
    clear(page)
    assert draw_and_predict(page, ONE) in list("0123456789")


def test_screenshots(open_page, artifacts) -> None:
    for width, height in [(1280, 800), (390, 844)]:
        page = open_page(width, height)
        draw_and_predict(page, SEVEN)
        p = neuron_point(page, 1, 2)
        page.mouse.click(p["x"], p["y"])
        page.wait_for_selector("#neuron-detail figure.heat")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(artifacts / f"page-{width}x{height}.png"))
        page.screenshot(path=str(artifacts / f"page-{width}x{height}-full.png"), full_page=True)
        # The page fits the phone: no sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    # The light theme, persisted across a reload.
    page.get_by_role("button", name="Switch to light theme").click()
    page.reload()
    wait_for(page, "window.__nnp && window.__nnp.ready")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    draw_and_predict(page, SEVEN)
    page.screenshot(path=str(artifacts / "page-390x844-light.png"), full_page=True)


@pytest.fixture(autouse=True)
def _no_leftover_runs(server):
    """Each test starts with no run training, so joining/idle states are predictable."""
    yield
    for run in httpx.get(f"{server}/api/runs").json()["runs"]:
        if run["status"] in ("queued", "downloading", "running", "paused"):
            httpx.post(f"{server}/api/runs/{run['id']}/stop")


def test_diverged_run_explains_itself(open_page) -> None:
    page = open_page()
    page.fill("#f-layers", "32")
    page.select_option("#f-activation", "relu")
    page.select_option("#f-cost", "cross_entropy")
    page.select_option("#f-optimizer", "sgd")
    page.fill("#f-learning_rate", "1000000")
    page.fill("#f-epochs", "2")
    page.fill("#f-train_subset", "3000")
    page.get_by_test_id("train-start").click()
    wait_status(page, "diverged")
    message = page.locator("#run-message").text_content()
    assert "diverged" in message and "lower learning rate" in message
    assert page.get_by_test_id("train-start").is_enabled()


CHART_100K = """async () => {
  const { CostChart } = await import('/static/js/chart.js');
  const wrap = document.createElement('div');
  wrap.style.cssText = 'position:relative;width:800px;height:260px';
  const canvas = document.createElement('canvas');
  canvas.style.cssText = 'position:absolute;inset:0;width:100%;height:100%';
  const tip = document.createElement('div');
  wrap.append(canvas, tip);
  document.body.append(wrap);
  const chart = new CostChart(canvas, tip);
  const n = 100000, step = [], cost = [];
  for (let i = 0; i < n; i++) {
    step.push(i + 1);
    cost.push(2 * Math.exp(-i / 20000) + Math.random() * 0.3);
  }
  chart.addPoints({ step, cost });
  chart.resize();
  const times = [];
  for (let k = 0; k < 20; k++) {
    const t0 = performance.now();
    chart.render();
    times.push(performance.now() - t0);
  }
  chart.setLog(true);
  chart.render();
  wrap.remove();
  times.sort((a, b) => a - b);
  return { points: chart.points, median_ms: times[10], max_ms: times[19] };
}"""


def test_chart_stays_fast_with_100k_points(open_page, record) -> None:
    page = open_page()
    result = page.evaluate(CHART_100K)
    record("chart_render_100k_points", result)
    assert result["points"] == 100000
    assert result["median_ms"] < 200  # sanity only; typically a few ms

"""The maths panels of issue 8 in a real Chromium against a real server.

Every number the page shows is checked against the server's own answers, fetched by the test
with httpx (the same request body the page sent, captured from the browser), and the model's
weights read from its downloaded .npz with NumPy: the test never imports app code.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from .test_playground import SEVEN, choose_model, neuron_point, stroke
from .waits import wait_for

MINUS = "\u2212"
SUP = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def shown(text: str) -> float:
    """Parse the page's number format ("−1.23", "+0.456", "4.56×10⁻⁵") back to a float."""
    t = text.strip().replace(MINUS, "-").replace("+", "")
    if "×10" in t:
        mant, exp = t.split("×10")
        return float(mant) * 10 ** int(exp.translate(SUP))
    return float(t)


def close(page_value: float, true_value: float, sig: int = 3) -> bool:
    """Equal to what the page shows with `sig` significant digits."""
    unit = 10 ** (np.floor(np.log10(abs(true_value) or 1)) - sig + 1)
    return abs(page_value - true_value) <= 0.51 * unit


@pytest.fixture(scope="module")
def weights(server: str) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for model in ("3b1b", "accurate"):
        data = httpx.get(f"{server}/api/models/{model}/weights").content
        with np.load(io.BytesIO(data), allow_pickle=False) as f:
            out[model] = {k: f[k] for k in f.files if re.fullmatch(r"[Wb]\d+", k)}
    return out


def mnist_test() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test digits (x in 0..1) and labels, read from the IDX files."""
    root = Path(os.environ["NNP_MNIST_DIR"])
    with gzip.open(root / "t10k-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784) / 255.0
    with gzip.open(root / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return x, labels


def explain_bodies(page) -> list[dict]:
    """Record the body of every POST /api/explain for one drawing the page sends."""
    bodies: list[dict] = []

    def on_request(req) -> None:
        if req.method == "POST" and req.url.endswith("/api/explain"):
            body = req.post_data_json
            if "batch" not in body:
                bodies.append(body)

    page.on("request", on_request)
    return bodies


def draw(page, points) -> None:
    before = page.evaluate("window.__nnp.explains")
    stroke(page, points)
    ready = "n => window.__nnp.settled() && window.__nnp.explains > n"
    wait_for(page, ready, arg=before, timeout=15000)


def poll(page, ok, timeout: float = 10.0) -> None:
    """Wait (with a deadline) for a condition on what the test recorded from the page."""
    deadline = time.monotonic() + timeout
    while not ok():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(20)  # lets Playwright deliver the page's events meanwhile


def text(page, testid: str) -> str:
    return page.get_by_test_id(testid).first.text_content()


def test_neuron_arithmetic_matches_the_api(open_page, server, weights, artifacts) -> None:
    page = open_page()
    sent = explain_bodies(page)
    draw(page, SEVEN)
    body = {k: v for k, v in sent[-1].items() if k != "grad_weights"}
    api = httpx.post(f"{server}/api/explain", json=body).json()
    seen = httpx.post(f"{server}/api/predict", json={**body, "include": ["input"]}).json()["input"]
    x = np.array(seen)
    w = weights["3b1b"]

    p = neuron_point(page, 1, 3)
    page.mouse.click(p["x"], p["y"])
    page.wait_for_selector("#neuron-detail [data-testid=term-z]")
    assert "Hidden layer 1, neuron 3" in page.locator("#neuron-detail").text_content()
    z_api = api["zs"][0][3]
    assert close(shown(text(page, "term-z")), z_api)
    assert close(shown(text(page, "term-a")), api["activations"][0][3])
    assert close(shown(text(page, "term-bias")), float(w["b0"][3]))
    # The largest term, computed here from the .npz and the input the server saw.
    terms = w["W0"][3].astype(np.float64) * x
    top = terms[np.argmax(np.abs(terms))]
    cells = page.locator("#neuron-detail [data-testid=term]").all_text_contents()
    listed = [shown(t) for t in cells]
    assert close(listed[0], top)
    assert [abs(t) for t in listed] == sorted((abs(t) for t in listed), reverse=True)
    rest_text = page.get_by_test_id("terms-rest").text_content()
    n_more = int(re.search(r"and (\d+) more", rest_text).group(1))
    assert n_more == 784 - len(listed)
    rest = shown(page.locator("[data-testid=terms-rest] .v").text_content())
    # What the page lists adds up to the server's z (within the shown digits' rounding).
    total = sum(listed) + rest + shown(text(page, "term-bias"))
    slack = 0.005 * (sum(abs(t) for t in listed) + abs(rest) + abs(z_api)) + 1e-3
    assert abs(total - z_api) <= slack

    # Three 28×28 images, none blank, and the activation plot.
    canvases = page.locator("#neuron-detail .triple canvas")
    assert canvases.count() == 3
    for i in range(3):
        assert canvas_has_ink(canvases.nth(i))
    assert canvas_has_ink(page.locator("#neuron-detail canvas.act-plot"))
    page.locator("#neuron-detail").screenshot(path=str(artifacts / "explain-neuron-1280.png"))


CANVAS_INK = """c => {
  const ctx = c.getContext('2d');
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  let lo = 255 * 3, hi = 0, alpha = 0;
  for (let i = 0; i < d.length; i += 4) {
    const s = d[i] + d[i + 1] + d[i + 2];
    lo = Math.min(lo, s); hi = Math.max(hi, s); alpha = Math.max(alpha, d[i + 3]);
  }
  return alpha > 0 && hi - lo > 60;
}"""


def canvas_has_ink(locator) -> bool:
    """Not blank: some pixels differ clearly from others."""
    return locator.evaluate(CANVAS_INK)


def test_layer_matrix_highlights_the_selected_row(open_page, server, weights, artifacts) -> None:
    page = open_page()
    draw(page, SEVEN)
    eq = page.get_by_test_id("layer-equation")
    assert eq.locator("math").count() == 1
    assert "σ" in eq.text_content() and "W" in eq.text_content()
    W = page.get_by_test_id("layer-W")
    assert W.evaluate("c => [c.width, c.height]") == [784, 16]  # 16×784 drawn cell for cell
    assert canvas_has_ink(W)

    p = neuron_point(page, 1, 9)
    page.mouse.click(p["x"], p["y"])
    mark = page.get_by_test_id("layer-row-mark")
    mark.wait_for(state="visible")
    assert mark.get_attribute("data-row") == "9"
    box, wbox = mark.bounding_box(), W.bounding_box()
    row_h = wbox["height"] / 16
    centre = box["y"] + box["height"] / 2
    assert wbox["y"] + 9 * row_h <= centre <= wbox["y"] + 10 * row_h
    assert "Row 9" in page.get_by_test_id("layer-row").text_content()

    # Hovering a cell shows that weight, as the .npz has it.
    page.get_by_test_id("layer-W").scroll_into_view_if_needed()
    wbox = W.bounding_box()
    row, col = 4, 400
    page.mouse.move(
        wbox["x"] + (col + 0.5) * wbox["width"] / 784, wbox["y"] + (row + 0.5) * wbox["height"] / 16
    )
    tip = page.get_by_test_id("layer-tip")
    tip.wait_for(state="visible")
    m = re.match(r"W\[(\d+), (\d+)\] = (\S+):", tip.text_content())
    assert m, tip.text_content()
    j, i = int(m.group(1)), int(m.group(2))
    assert j == row and abs(i - col) <= 1
    assert close(shown(m.group(3)), float(weights["3b1b"]["W0"][j, i]))

    # Clicking a row of W selects that neuron: its arithmetic opens below the network.
    page.mouse.click(wbox["x"] + wbox["width"] / 2, wbox["y"] + 12.5 * wbox["height"] / 16)
    wait_for(
        page,
        "() => document.querySelector('#neuron-detail').textContent"
        ".includes('Hidden layer 1, neuron 12')",
    )
    assert mark.get_attribute("data-row") == "12"
    # ... and its tile in the weights grid is marked, as a click on the network would.
    wait_for(
        page,
        "() => [...document.querySelectorAll('[data-testid=weights-tile].on')]"
        ".map((t) => t.dataset.index).join() === '12'",
    )

    # Another layer: the outputs' 10×16 matrix.
    page.get_by_test_id("layer-pick").select_option("3")
    wait_for(  # redrawn asynchronously, not within select_option
        page,
        "() => { const c = document.querySelector('[data-testid=layer-W]');"
        " return c.width === 16 && c.height === 10; }",
    )
    page.locator(".layer-card").screenshot(path=str(artifacts / "explain-layer-1280.png"))


def cost_rows(page) -> tuple[list[float], float]:
    terms = [shown(t) for t in page.get_by_test_id("cost-term").all_text_contents()]
    return terms, shown(page.get_by_test_id("cost-sum").text_content())


def test_cost_of_this_example(open_page, server, weights, artifacts) -> None:
    page = open_page()
    sent = explain_bodies(page)
    draw(page, SEVEN)
    body = {k: v for k, v in sent[-1].items() if k not in ("grad_weights", "label")}
    pred = httpx.post(f"{server}/api/predict", json={**body, "include": ["activations"]}).json()
    a = np.array(pred["activations"][-1], dtype=np.float64)
    digit = pred["digit"]
    picker = page.get_by_test_id("cost-label")
    assert picker.locator("button[aria-checked=true]").text_content() == str(digit)

    def expected(label: int) -> tuple[np.ndarray, float]:
        y = np.zeros(10)
        y[label] = 1
        return (a - y) ** 2, float(((a - y) ** 2).sum())

    terms, total = cost_rows(page)
    want_terms, want_total = expected(digit)
    assert all(close(t, w) for t, w in zip(terms, want_terms, strict=True))
    assert close(total, want_total)

    # Correct the label: the cost is measured against the new target.
    other = 3 if digit != 3 else 5
    before = page.evaluate("window.__nnp.explains")
    picker.get_by_role("radio", name=str(other)).click()
    wait_for(page, "n => window.__nnp.explains > n", arg=before)
    terms, total = cost_rows(page)
    assert close(total, expected(other)[1])
    assert total > want_total * 10  # a wrong label costs far more

    # The keyboard moves the picker like any radio group.
    before = page.evaluate("window.__nnp.explains")
    picker.get_by_role("radio", name=str(other)).press("ArrowRight")
    wait_for(page, "n => window.__nnp.explains > n", arg=before)
    nxt = (other + 1) % 10
    assert picker.locator("button[aria-checked=true]").text_content() == str(nxt)
    assert close(cost_rows(page)[1], expected(nxt)[1])

    # How bad the network is overall: the API's own batch answer (what the page asked for).
    avg = page.get_by_test_id("cost-avg")
    wait_for(page, "() => /\\d/.test(document.querySelector('[data-testid=cost-avg]').textContent)")
    # Computed here from the .npz and the MNIST test files: Σ_j (a_j − y_j)² averaged over
    # all 10,000 test digits (the video's cost, no ½).
    x, labels = mnist_test()
    a = x
    for layer in range(3):
        a = 1 / (1 + np.exp(-(a @ weights["3b1b"][f"W{layer}"].T + weights["3b1b"][f"b{layer}"])))
    y = np.eye(10)[labels]
    assert close(shown(avg.text_content()), float(((a - y) ** 2).sum(1).mean()))
    assert page.get_by_test_id("cost-avg-n").text_content() == "10,000 test digits"
    page.locator(".cost-card").screenshot(path=str(artifacts / "explain-cost-1280.png"))


NET_PIXELS = """() => {
  const c = document.getElementById('network-canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let h = 0;
  for (let i = 0; i < d.length; i += 97) h = (h * 31 + d[i]) % 1000000007;
  return h;
}"""


def test_nudges_view_and_steps_downhill(open_page, server, artifacts) -> None:
    page = open_page()
    sent = explain_bodies(page)
    draw(page, SEVEN)
    page.locator("#network-canvas").scroll_into_view_if_needed()
    before_pixels = page.evaluate(NET_PIXELS)
    n = page.evaluate("window.__nnp.explains")
    page.get_by_test_id("mode-nudges").check()
    wait_for(page, "n => window.__nnp.explains > n", arg=n)
    # The page now asks for every small layer's ∂C/∂W (all three, for 3b1b).
    assert [g["layer"] for g in sent[-1]["grad_weights"]] == [0, 1, 2]
    wait_for(page, "h => (" + NET_PIXELS + ")() !== h", arg=before_pixels)
    # A first-layer neuron shows its ∂C/∂w as a 28×28 map.
    p = neuron_point(page, 1, 2)
    page.mouse.click(p["x"], p["y"])
    nudge_map = page.locator("[data-testid=nudge-map] canvas")
    nudge_map.wait_for()
    assert canvas_has_ink(nudge_map)
    page.locator(".net-card").screenshot(path=str(artifacts / "explain-nudges-1280.png"))

    # Correct the label to one the network does not predict, then take steps downhill.
    digit = int(page.get_by_test_id("prediction").text_content())
    label = 3 if digit != 3 else 5
    n = page.evaluate("window.__nnp.explains")
    page.get_by_test_id("cost-label").get_by_role("radio", name=str(label)).click()
    wait_for(page, "n => window.__nnp.explains > n", arg=n)
    page.get_by_test_id("step-lr").fill("2")
    for k in range(1, 4):
        page.get_by_test_id("step-take").click()
        wait_for(
            page,
            "k => document.querySelectorAll('[data-testid=step-state]').length === k + 1",
            arg=k,
        )
    states = page.get_by_test_id("step-state").all_text_contents()
    costs = [shown(re.search(r"cost (\S+),", s).group(1)) for s in states]
    assert costs[3] < costs[2] < costs[1] < costs[0], costs
    # The same steps asked of the API directly give the same costs (the video's Σ, no ½).
    body = {k: v for k, v in sent[-1].items() if k not in ("grad_weights", "label")}
    api = httpx.post(
        f"{server}/api/explain/step",
        json={**body, "label": label, "learning_rate": 2.0, "steps": 3},
    ).json()
    assert all(close(c, 2 * s["cost"]) for c, s in zip(costs, api["states"], strict=True))
    # The real model is unchanged: the cost panel still shows the first cost.
    assert close(shown(page.get_by_test_id("cost-sum").text_content()), costs[0])
    page.locator(".cost-card").screenshot(path=str(artifacts / "explain-steps-1280.png"))
    page.get_by_test_id("step-reset").click()
    assert page.get_by_test_id("step-state").count() == 0


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_explain_screenshots(open_page, artifacts, theme, width, height) -> None:
    page = open_page(width, height)
    if theme == "light":
        page.get_by_role("button", name="Switch to light theme").click()
    draw(page, SEVEN)
    p = neuron_point(page, 1, 2)
    page.mouse.click(p["x"], p["y"])
    page.wait_for_selector("#neuron-detail .triple canvas")
    page.get_by_test_id("layer-row-mark").wait_for(state="visible")
    tag = f"{width}x{height}-{theme}"
    for card in ("net-card", "cost-card", "layer-card"):
        page.locator(f".{card}").screenshot(path=str(artifacts / f"explain-{card}-{tag}.png"))
    page.screenshot(path=str(artifacts / f"explain-page-{tag}.png"), full_page=True)
    # The new panels fit a phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_cross_entropy_model_and_a_big_layer(open_page, server, artifacts) -> None:
    page = open_page()
    choose_model(page, "accurate")
    sent = explain_bodies(page)
    draw(page, SEVEN)
    body = {k: v for k, v in sent[-1].items() if k not in ("grad_weights", "label")}
    pred = httpx.post(f"{server}/api/predict", json={**body, "include": ["activations"]}).json()
    a = pred["activations"][-1]
    # Cross-entropy: the cost is −log a_label, and only the label's row counts.
    assert "log" in page.locator("#cost-sum-label").text_content()
    assert close(shown(page.get_by_test_id("cost-sum").text_content()), -np.log(a[pred["digit"]]))
    # 256×784 weights: drawn downsampled, and the view says so.
    wait_for(  # drawn once the model's explanation has arrived
        page,
        "() => { const c = document.querySelector('[data-testid=layer-W]');"
        " return c.width === 784 && c.height === 128; }",
    )
    assert "downsampled" in page.locator("#mx-note").text_content()
    page.locator(".layer-card").screenshot(path=str(artifacts / "explain-layer-accurate-1280.png"))


def test_nudges_of_a_big_model_and_of_a_mini_batch(open_page, server, record, artifacts) -> None:
    page = open_page()
    choose_model(page, "accurate")
    sent = explain_bodies(page)
    draw(page, SEVEN)
    record(
        "explain_paint_after_pointer_up_ms",
        {"accurate": page.evaluate("window.__nnp.lastExplainPaintMs")},
    )
    page.get_by_test_id("mode-nudges").check()
    # 256×784 and 128×256 are too big to send whole: the page asks for the 32 rows the
    # server's answer shows to be nudged hardest (largest |∂C/∂b|), then draws them.
    body = {k: v for k, v in sent[-1].items() if k not in ("grad_weights", "label")}
    api = httpx.post(f"{server}/api/explain", json=body).json()

    def asked_rows() -> dict[int, list[int]]:
        last = sent[-1]["grad_weights"]
        return {g["layer"]: g["neurons"] for g in last if "neurons" in g}

    want = {
        layer: sorted(np.argsort(-np.abs(np.array(api["grad_biases"][layer])), kind="stable")[:32])
        for layer in (0, 1)
    }
    poll(page, lambda: set(asked_rows()) == {0, 1})
    rows = asked_rows()
    for layer in (0, 1):
        # Ties in |∂C/∂b| could order differently; compare the magnitudes chosen.
        gb = np.abs(np.array(api["grad_biases"][layer]))
        assert np.allclose(sorted(gb[rows[layer]]), sorted(gb[want[layer]]), rtol=1e-5)
    assert "most nudged neurons" in page.locator("#nudge-big").text_content()
    page.locator(".net-card").screenshot(path=str(artifacts / "explain-nudges-accurate-1280.png"))

    # The mini-batch: the average wish of 32 training digits.
    pixels = page.evaluate(NET_PIXELS)
    page.get_by_test_id("source-batch").check()
    wait_text = "() => document.querySelector('[data-testid=batch-note]').textContent"
    wait_for(page, wait_text + ".includes('average wish')", timeout=15000)
    wait_for(page, "h => (" + NET_PIXELS + ")() !== h", arg=pixels)
    page.locator(".net-card").screenshot(path=str(artifacts / "explain-nudges-batch-1280.png"))


def test_explain_latency_after_pointer_up(open_page, record) -> None:
    """Pointer up → the cost panel painted with the new explanation (reported, not a bar)."""
    page = open_page()
    results = {}
    for model in ("3b1b", "accurate"):
        choose_model(page, model)
        samples = []
        for _ in range(5):
            page.get_by_test_id("clear").click()
            page.evaluate("window.__nnp.lastExplainPaintMs = null")
            draw(page, SEVEN)
            wait_for(page, "() => window.__nnp.lastExplainPaintMs !== null")
            samples.append(page.evaluate("window.__nnp.lastExplainPaintMs"))
        samples.sort()
        results[model] = {
            "samples_ms": [round(x, 1) for x in samples],
            "median_ms": round(samples[2], 1),
        }
        assert samples[2] < 3000  # sanity only: a shared machine
    record("explain_paint_after_pointer_up", results)

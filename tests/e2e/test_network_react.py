"""The network view reacts (issue 8, section 8), in a real Chromium against a real server.

Hovering a neuron lights its incoming connections by w·a, the weights view shows every
first-layer neuron's weight map (and follows a training run), the prediction updates while the
stroke is drawn, and the legend tells the truth in both themes. Expected values come from the
model's downloaded .npz and the server's own /api/predict answers, never from the page's code.
"""

from __future__ import annotations

import io
import re

import httpx
import numpy as np
import pytest
from PIL import Image

from .test_playground import RUN_FORM, SEVEN, ZERO, choose_model, neuron_point, stroke
from .waits import wait_for

NET_PIXELS = """() => {
  const c = document.getElementById('network-canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let h = 0;
  for (let i = 0; i < d.length; i += 7) h = (h * 31 + d[i]) % 1000000007;
  return h;
}"""

# Per tile of the weights view: [distinct RGB colours, its pixels as a flat RGB list].
TILES = """() => [...document.querySelectorAll('[data-testid=weights-tile] canvas')].map((c) => {
  const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;
  const rgb = [];
  for (let i = 0; i < d.length; i += 4) rgb.push(d[i], d[i + 1], d[i + 2]);
  return rgb;
})"""

# The number of distinct values in the last tile's pixels (0 while it is not drawn).
LAST_TILE_COLOURS = """(() => {
  const c = [...document.querySelectorAll('[data-testid=weights-tile] canvas')].pop();
  return new Set(Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data)).size;
})()"""

BLUE = np.array([88, 196, 221])  # the page's colours for positive and negative (colors.js)
ORANGE = np.array([240, 136, 42])


@pytest.fixture(scope="module")
def weights(server: str) -> dict[str, np.ndarray]:
    data = httpx.get(f"{server}/api/models/3b1b/weights").content
    with np.load(io.BytesIO(data), allow_pickle=False) as f:
        return {k: f[k] for k in f.files if re.fullmatch(r"[Wb]\d+", k)}


def sizes_of(server: str, model: str) -> list[int]:
    models = httpx.get(f"{server}/api/models").json()["models"]
    return next(m["sizes"] for m in models if m["id"] == model)


def predict_bodies(page) -> list[dict]:
    """The body of every POST /api/predict the page sends, in order."""
    bodies: list[dict] = []
    page.on(
        "request",
        lambda r: (
            bodies.append(r.post_data_json)
            if r.method == "POST" and r.url.endswith("/api/predict")
            else None
        ),
    )
    return bodies


def draw_settled(page, points) -> None:
    stroke(page, points)
    wait_for(page, "() => window.__nnp.settled() && window.__nnp.predictions > 0", timeout=15000)


def screen(page) -> np.ndarray:
    """The viewport as RGB pixels (device scale 1: CSS px = image px)."""
    return np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(int)


def prominence(img: np.ndarray, pt: dict, bg: np.ndarray) -> float:
    """How far the most vivid pixel around a point is from the canvas background."""
    x, y = round(pt["x"]), round(pt["y"])
    patch = img[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3)
    return float(np.abs(patch - bg).sum(axis=1).max())


def test_hover_lights_connections_by_contribution(open_page, server, weights, artifacts) -> None:
    page = open_page()
    sent = predict_bodies(page)
    draw_settled(page, SEVEN)
    body = {k: v for k, v in sent[-1].items() if k != "include"}
    res = httpx.post(f"{server}/api/predict", json={**body, "include": ["activations"]}).json()
    a1 = np.array(res["activations"][0])  # hidden layer 1, the inputs of hidden layer 2
    contrib = weights["W1"] * a1  # (16, 16): row j = neuron j of hidden layer 2, w·a per input
    j = int(np.argmax(np.abs(contrib).max(axis=1)))
    strong = int(np.argmax(np.abs(contrib[j])))
    weak = int(np.argmin(np.abs(contrib[j])))
    assert abs(contrib[j, weak]) < 0.02 * abs(contrib[j, strong])

    page.mouse.move(5, 5)  # nothing hovered
    target = neuron_point(page, 2, j)
    before_hash = page.evaluate(NET_PIXELS)
    mid_strong = page.evaluate("a => window.__nnp.connectionPoint(...a)", [2, j, strong, 0.5])
    mid_weak = page.evaluate("a => window.__nnp.connectionPoint(...a)", [2, j, weak, 0.5])
    img0 = screen(page)
    canvas = page.locator("#network-canvas").bounding_box()
    bg = img0[round(canvas["y"]) + 2, round(canvas["x"] + canvas["width"]) - 2]

    page.mouse.move(target["x"], target["y"])
    wait_for(page, "h => (" + NET_PIXELS + ")() !== h", arg=before_hash)
    page.wait_for_timeout(50)  # one more frame: the screenshot is of the finished drawing
    img = screen(page)
    p_strong = prominence(img, mid_strong, bg)
    p_weak = prominence(img, mid_weak, bg)
    # The strongest contribution stands out; the near-zero one is dimmed with the rest.
    assert p_strong > 2 * p_weak + 60, (p_strong, p_weak)
    assert p_weak <= prominence(img0, mid_weak, bg) + 5
    # Its colour is its sign: blue adds to z, orange takes away.
    x, y = round(mid_strong["x"]), round(mid_strong["y"])
    patch = img[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3)
    vivid = patch[np.abs(patch - bg).sum(axis=1).argmax()]
    toward = BLUE if contrib[j, strong] > 0 else ORANGE
    away = ORANGE if contrib[j, strong] > 0 else BLUE
    assert np.abs(vivid - toward).sum() < np.abs(vivid - away).sum()
    page.locator(".net-card").screenshot(path=str(artifacts / "react-hover-1280.png"))


def test_weights_view_shows_every_first_layer_neuron(open_page, server, weights) -> None:
    page = open_page()
    page.locator("#weights-view > summary").click()
    n = sizes_of(server, "3b1b")[1]
    wait_for(page, "n => window.__nnp.weightTilesDrawn() >= n", arg=n)
    tiles = np.array(page.evaluate(TILES)).reshape(-1, 784, 3)
    assert len(tiles) == n
    for i, tile in enumerate(tiles):
        assert len({tuple(p) for p in tile}) > 20, f"tile {i} is blank"
        # Tile i is neuron i's weights: its most positive pixel is blue, most negative orange.
        w = weights["W0"][i]
        hi, lo = tile[int(np.argmax(w))], tile[int(np.argmin(w))]
        assert np.abs(hi - BLUE).sum() < np.abs(hi - ORANGE).sum(), i
        assert np.abs(lo - ORANGE).sum() < np.abs(lo - BLUE).sum(), i

    # A bigger layer: a scrollable grid, its tiles drawn as they scroll into view.
    choose_model(page, "accurate")
    big = sizes_of(server, "accurate")[1]
    tile_count = "n => document.querySelectorAll('[data-testid=weights-tile]').length === n"
    wait_for(page, tile_count, arg=big)
    wait_for(page, "() => window.__nnp.weightTilesDrawn() > 16")
    drawn = page.evaluate("window.__nnp.weightTilesDrawn()")
    assert drawn < 16 + big, "the tiles out of view should not be drawn yet"
    page.evaluate("document.querySelector('[data-testid=weights-grid]').scrollTop = 1e6")
    wait_for(page, "d => window.__nnp.weightTilesDrawn() > d", arg=drawn)
    wait_for(page, LAST_TILE_COLOURS + " > 20")


def test_weights_view_follows_a_training_run(open_page) -> None:
    page = open_page()
    page.locator("#weights-view > summary").click()
    page.select_option("#f-preset", "3b1b")
    for sel, value in RUN_FORM.items():
        page.fill(sel, value)
    page.get_by_test_id("train-start").click()
    wait_for(page, "() => (window.__nnp.selected() || {}).kind === 'run'")
    run = "run:" + page.evaluate("window.__nnp.runId()")
    wait_for(page, "r => window.__nnp.weightsShown() === r", arg=run, timeout=30000)
    first = page.evaluate(TILES)
    assert len(first) == 16  # the run's first hidden layer
    assert all(len(set(t)) > 20 for t in first)
    # The run controller re-fetches the run's weights every few seconds: the maps move.
    wait_for(
        page,
        "f => JSON.stringify((" + TILES + ")()) !== JSON.stringify(f)",
        arg=first,
        timeout=40000,
        interval=200,
    )
    page.get_by_test_id("train-stop").click()
    wait_for(
        page,
        "() => document.querySelector('[data-testid=run-status]').textContent === 'stopped'",
    )


def test_prediction_updates_while_the_stroke_is_drawn(open_page) -> None:
    page = open_page()
    sent = predict_bodies(page)
    flying = {"now": 0, "max": 0}

    def started(r) -> None:
        if r.method == "POST" and r.url.endswith("/api/predict"):
            flying["now"] += 1
            flying["max"] = max(flying["max"], flying["now"])

    def ended(r) -> None:
        if r.method == "POST" and r.url.endswith("/api/predict"):
            flying["now"] -= 1

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)

    box = page.get_by_test_id("draw-canvas").bounding_box()
    path = ZERO + SEVEN  # a long, slow stroke
    page.mouse.move(box["x"] + path[0][0] * box["width"], box["y"] + path[0][1] * box["height"])
    page.mouse.down()
    for x, y in path[1:]:
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=3)
        page.wait_for_timeout(15)  # a person's pace, so answers come back during the stroke
    # The pointer is still down: predictions have been shown for the unfinished stroke.
    wait_for(page, "() => window.__nnp.predictions >= 2", timeout=10000)
    mid = page.evaluate("window.__nnp.predictions")
    assert page.get_by_test_id("prediction").text_content() in list("0123456789")
    assert len({b["image"] for b in sent}) >= 2, "each request carries the stroke so far"
    page.mouse.up()
    wait_for(page, "() => window.__nnp.settled()", timeout=15000)
    assert page.evaluate("window.__nnp.predictions") > mid  # the finished stroke too
    # Throttled to what the server answers: never two predictions in flight.
    assert flying["max"] == 1


def test_legend_is_true_in_both_themes(open_page, server, artifacts) -> None:
    page = open_page()
    sent = predict_bodies(page)
    draw_settled(page, SEVEN)
    body = {k: v for k, v in sent[-1].items() if k != "include"}
    res = httpx.post(f"{server}/api/predict", json={**body, "include": ["activations"]}).json()
    a1 = np.array(res["activations"][0])
    on, off = int(np.argmax(a1)), int(np.argmin(a1))
    assert a1[on] > 0.8 and a1[off] < 0.2
    page.mouse.move(5, 5)
    for theme in ("dark", "light"):
        if page.evaluate("document.documentElement.dataset.theme") != theme:
            page.locator("#theme-toggle").click()
        page.wait_for_timeout(50)  # the repaint after the switch
        legend = page.get_by_test_id("act-legend").inner_text()
        p_on, p_off = neuron_point(page, 1, on), neuron_point(page, 1, off)
        img = screen(page)
        lum = {
            k: img[round(p["y"]), round(p["x"])].mean() for k, p in [("on", p_on), ("off", p_off)]
        }
        if theme == "dark":
            assert "Brighter neuron = more active" in legend and "Darker" not in legend
            assert lum["on"] > lum["off"] + 100
        else:
            assert "Darker neuron = more active" in legend and "Brighter" not in legend
            assert lum["on"] < lum["off"] - 100
        assert "Brightness = activation" not in legend


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
@pytest.mark.parametrize("theme", ["dark", "light"])
def test_screenshots(open_page, artifacts, width: int, height: int, theme: str) -> None:
    page = open_page(width, height)
    if page.evaluate("document.documentElement.dataset.theme") != theme:
        page.locator("#theme-toggle").click()
    draw_settled(page, SEVEN)
    page.locator("#weights-view > summary").click()
    wait_for(page, "() => window.__nnp.weightTilesDrawn() >= 16")
    p = neuron_point(page, 2, 3)
    if width < 500:
        page.mouse.click(p["x"], p["y"])  # a tap pins the neuron (no hover on a phone)
    else:
        page.mouse.move(p["x"], p["y"])
    page.wait_for_timeout(100)
    name = f"react-{theme}-{width}x{height}.png"
    page.locator(".net-card").screenshot(path=str(artifacts / name))

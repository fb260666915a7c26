"""Measure the playground page's two bars in a real browser (Debian Chromium via Playwright).

1. First prediction latency: from the pointer being lifted to the predicted digit in the DOM
   (and to the next painted frame), over several mouse-drawn strokes, on the shipped models;
   and the explain views' latency: pointer up → the maths panels painted with that drawing's
   /api/explain answer (window.__nnp.lastExplainPaintMs; bar: ≤ 100 ms).
2. Frames per second (requestAnimationFrame timing) while a run trains and the cost chart and
   network view update live — and, for comparison, while idle; then with the nudges view (and
   the first-layer weights view) open while it trains, once with the run selected and once
   with 3b1b selected and explained beside it (bar: ≥ 50 frames/s).

    python bench/page_bench.py                 # starts its own server on a free port
    python bench/page_bench.py --url http://127.0.0.1:8000   # or measures a running one

Prints the numbers and a JSON summary (also written to bench/results/page_bench.json).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from waits import wait_for  # noqa: E402

CHROMIUM = os.environ.get("NNP_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ONE = [(0.53, 0.14), (0.51, 0.4), (0.49, 0.62), (0.47, 0.86)]
SEVEN = [(0.24, 0.2), (0.5, 0.19), (0.76, 0.2), (0.62, 0.45), (0.52, 0.66), (0.44, 0.86)]
ZERO = [
    (0.5 + 0.21 * math.sin(t / 36 * 2 * math.pi), 0.5 - 0.32 * math.cos(t / 36 * 2 * math.pi))
    for t in range(38)
]


def start_server(data: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mnist = os.environ.get("NNP_MNIST_DIR") or str(REPO.parent / "shared" / "datasets" / "mnist")
    env = {
        **os.environ,
        "NNP_DATA_DIR": str(data / "data"),
        "NNP_CACHE_DIR": str(data / "cache"),
        "NNP_MNIST_DIR": mnist,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "app.main:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start within 30 s")


def stroke(page, points) -> None:
    box = page.get_by_test_id("draw-canvas").bounding_box()
    at = lambda p: (box["x"] + p[0] * box["width"], box["y"] + p[1] * box["height"])  # noqa: E731
    page.mouse.move(*at(points[0]))
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*at(p), steps=4)
    page.mouse.up()


def latency(page, model: str, rounds: int) -> dict:
    page.get_by_test_id("model-select").select_option(model)
    wait_for(page, "m => (window.__nnp.selected() || {}).id === m", arg=model)
    dom, painted, explained = [], [], []
    for i in range(rounds):
        page.get_by_test_id("clear").click()
        page.evaluate("window.__nnp.lastExplainPaintMs = null")
        stroke(page, [ONE, ZERO, SEVEN][i % 3])
        wait_for(page, "() => window.__nnp.settled()")
        wait_for(page, "() => window.__nnp.lastPredictPaintMs !== null")
        wait_for(page, "() => window.__nnp.lastExplainPaintMs !== null")
        dom.append(page.evaluate("window.__nnp.lastPredictLatencyMs"))
        painted.append(page.evaluate("window.__nnp.lastPredictPaintMs"))
        explained.append(page.evaluate("window.__nnp.lastExplainPaintMs"))
        page.evaluate("window.__nnp.lastPredictPaintMs = null")
    dom.sort()
    explained.sort()
    return {
        "rounds": rounds,
        "median_ms": round(statistics.median(dom), 1),
        "p90_ms": round(dom[int(len(dom) * 0.9) - 1], 1),
        "max_ms": round(dom[-1], 1),
        "median_painted_ms": round(statistics.median(painted), 1),
        "explain_median_ms": round(statistics.median(explained), 1),
        "explain_p90_ms": round(explained[int(len(explained) * 0.9) - 1], 1),
        "explain_max_ms": round(explained[-1], 1),
    }


def fps_with_nudges(page, ms: int, select: str | None) -> dict:
    """Frames/s with the nudges view and the weights view open while the run trains."""
    if select:
        page.get_by_test_id("model-select").select_option(select)
        wait_for(page, "m => (window.__nnp.selected() || {}).id === m", arg=select)
        stroke(page, SEVEN)
        wait_for(page, "() => window.__nnp.settled()")
    page.get_by_test_id("mode-nudges").check()
    if not page.evaluate("document.getElementById('weights-view').open"):
        page.locator("#weights-view > summary").click()
    page.locator("#network-canvas").scroll_into_view_if_needed()
    fps = page.evaluate("ms => window.__nnp.measureFps(ms)", ms)
    fps["selected"] = page.evaluate("window.__nnp.selected()")
    status = page.get_by_test_id("run-status").text_content()
    if status != "running":  # the number must be taken while the run trains
        raise SystemExit(f"FAIL the run was {status!r} at the end of the measurement")
    return fps


def report_fps(label: str, fps: dict) -> None:
    print(
        f"fps {label}: {fps['fps']:.1f} (p95 frame {fps['p95FrameMs']:.1f} ms, "
        f"max {fps['maxFrameMs']:.1f} ms)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--url", help="a running server (default: start one)")
    ap.add_argument("--rounds", type=int, default=15, help="strokes per model")
    ap.add_argument("--seconds", type=float, default=5.0, help="fps measuring window")
    ap.add_argument("--layers", default="16, 16", help="hidden layers of the training run")
    opts = ap.parse_args()

    from playwright.sync_api import sync_playwright

    proc = None
    tmp = tempfile.TemporaryDirectory()
    url = opts.url
    if not url:
        proc, url = start_server(Path(tmp.name))
    results: dict = {"url": url}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            errors = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            wait_for(page, "window.__nnp && window.__nnp.ready")
            for model in ["3b1b", "accurate"]:
                results[f"latency_{model}"] = lat = latency(page, model, opts.rounds)
                print(
                    f"first prediction after pointer up, {model}: median {lat['median_ms']} ms, "
                    f"p90 {lat['p90_ms']} ms, max {lat['max_ms']} ms "
                    f"(painted: median {lat['median_painted_ms']} ms)"
                )
                print(
                    f"explain views painted after pointer up, {model}: median "
                    f"{lat['explain_median_ms']} ms, p90 {lat['explain_p90_ms']} ms, "
                    f"max {lat['explain_max_ms']} ms"
                )

            ms = int(opts.seconds * 1000)
            results["fps_idle"] = idle = page.evaluate("ms => window.__nnp.measureFps(ms)", ms)
            print(f"fps idle: {idle['fps']:.1f} (p95 frame {idle['p95FrameMs']:.1f} ms)")

            # A run that outlasts the measurement, started from the page like a user would.
            page.get_by_test_id("clear").click()
            stroke(page, SEVEN)  # the probe
            page.fill("#f-layers", opts.layers)
            page.fill("#f-epochs", "100")  # outlasts every measurement; stopped at the end
            page.fill("#f-batch_size", "32")
            page.get_by_test_id("train-start").click()
            wait_for(
                page,
                "() => window.__nnp.metricsMessages > 5 && window.__nnp.probes > 2",
                timeout=60000,
            )
            fps = page.evaluate("ms => window.__nnp.measureFps(ms)", ms)
            fps["metrics_messages"] = page.evaluate("window.__nnp.metricsMessages")
            fps["probes"] = page.evaluate("window.__nnp.probes")
            fps["chart_points"] = page.evaluate("window.__nnp.chartPoints()")
            fps["render_stats"] = page.evaluate("window.__nnp.renderStats()")
            results["fps_training"] = fps
            print(
                f"fps while training ({opts.layers}): {fps['fps']:.1f} "
                f"(p95 frame {fps['p95FrameMs']:.1f} ms, max {fps['maxFrameMs']:.1f} ms, "
                f"{fps['chart_points']} chart points)"
            )
            for name, st in fps["render_stats"].items():
                print(
                    f"  {name}: {st['count']} renders, mean {st['totalMs'] / st['count']:.2f} ms, "
                    f"max {st['maxMs']:.1f} ms (whole session)"
                )
            # The nudges view (and the weights view) open while it trains: the run selected
            # (probes, live weights), then 3b1b selected and explained while it trains on.
            results["fps_training_nudges_run"] = f = fps_with_nudges(page, ms, None)
            report_fps("while training, nudges + weights views open, run selected", f)
            results["fps_training_nudges_3b1b"] = f = fps_with_nudges(page, ms, "3b1b")
            report_fps("while training, nudges + weights views open, 3b1b selected", f)
            page.get_by_test_id("train-stop").click()
            wait_for(
                page,
                "() => document.querySelector('[data-testid=run-status]').textContent === 'stopped'",
            )
            results["console_errors"] = errors
            if errors:
                print("console errors:", *errors, sep="\n  ")
            browser.close()
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=10)
        tmp.cleanup()
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "page_bench.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results))


if __name__ == "__main__":
    main()

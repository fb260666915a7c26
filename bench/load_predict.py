"""Predict latency on a real server: p50/p99 of POST /api/predict with a 280×280 PNG.

Starts our server (bench/serving.py: `app.main.serve`, as `nn-playground serve` does) on a free
port in a subprocess, sends 1,000 sequential requests from one keep-alive client, then does it
again while a training run is going. Bars: p50 ≤ 5 ms and p99 ≤ 25 ms idle; p99 ≤ 25 ms while
training.

    python bench/load_predict.py [--requests 1000] [--model accurate] [--preset accurate]
"""

from __future__ import annotations

import argparse
import base64
import io
import signal
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The one server launcher of the benches (bench/serving.py); the other benches import these
# names from here too.
from serving import REPO as REPO
from serving import free_port as free_port
from serving import server as server


def digit_png(size: int = 280, index: int = 0) -> bytes:
    """A real MNIST test digit (the `index`th), scaled to a size×size canvas like a drawing
    from the page."""
    try:
        from app.data.mnist import load_mnist_test

        images, _ = load_mnist_test(download=False)
        digit = images[index % len(images)]
    except Exception:  # no MNIST at hand: a synthetic "1"
        digit = np.zeros((28, 28), np.uint8)
        digit[4:24, 13:16] = 255
    image = Image.fromarray(digit).resize((size, size), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def ensure_model(client: httpx.Client, model: str) -> str:
    """The model to use: `model` if the server has it, else an uploaded stand-in that size."""
    if client.get(f"/api/models/{model}").status_code == 200:
        return model
    from app.nn.network import Network
    from app.nn.serialize import model_to_bytes

    net = Network([784, 256, 128, 10], "relu", "cross_entropy", seed=0)
    r = client.post("/api/models", files={"file": ("stand-in.npz", model_to_bytes(net, {}))})
    r.raise_for_status()
    print(f"(model {model!r} not found: using an uploaded 784-256-128-10 stand-in)")
    return r.json()["id"]


def measure(client: httpx.Client, body: dict, n: int) -> np.ndarray:
    for _ in range(20):  # warm-up
        client.post("/api/predict", json=body).raise_for_status()
    times = np.empty(n)
    for i in range(n):
        began = time.perf_counter()
        r = client.post("/api/predict", json=body)
        times[i] = time.perf_counter() - began
        r.raise_for_status()
    return times * 1000


def report(label: str, ms: np.ndarray, *, check_p50: bool = True) -> None:
    """Bars: p50 ≤ 5 ms and p99 ≤ 25 ms idle; the same p99 bound while training."""
    p50, p99 = np.percentile(ms, [50, 99])
    ok = "OK " if (p50 <= 5 or not check_p50) and p99 <= 25 else "BAD"
    print(
        f"{ok} {label:<28} n={len(ms)}  p50={p50:6.2f} ms  p99={p99:6.2f} ms  max={ms.max():6.2f} ms"
    )


def main() -> None:
    # SIGTERM unwinds through the `with` blocks, so the server is always stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--model", default="accurate")
    parser.add_argument("--preset", default="accurate", help="the training run's preset")
    args = parser.parse_args()
    png = digit_png()
    with (
        tempfile.TemporaryDirectory() as tmp,
        server(Path(tmp)) as (url, _),
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        model = ensure_model(client, args.model)
        body = {"image": base64.b64encode(png).decode(), "model": model}
        print(f"POST /api/predict, {len(png):,}-byte 280x280 PNG, model {model}")
        report("idle", measure(client, body, args.requests))
        r = client.post("/api/runs", json={"preset": args.preset, "epochs": 50})
        r.raise_for_status()
        run = r.json()["id"]
        deadline = time.monotonic() + 60
        while client.get(f"/api/runs/{run}").json()["status"] != "running":
            if time.monotonic() > deadline:
                raise RuntimeError("the training run did not start")
            time.sleep(0.1)
        timings = measure(client, body, args.requests)
        report(f"while training ({args.preset})", timings, check_p50=False)
        sps = client.get("/api/runs").json()["runs"][0]["latest"]["samples_per_second"]
        print(f"    (training at {sps:,.0f} samples/s)")
        client.post(f"/api/runs/{run}/stop")


if __name__ == "__main__":
    main()

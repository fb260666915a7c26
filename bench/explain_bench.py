"""Explain latency on a real server: p50/p99 of POST /api/explain with a 280×280 PNG.

Starts uvicorn in a subprocess (the helpers of load_predict.py), then sends sequential requests
from one keep-alive client for each model. Bars (issue 8): p50 ≤ 10 ms with 3b1b, ≤ 30 ms
with accurate.

    python bench/explain_bench.py [--requests 300] [--models 3b1b accurate]
"""

from __future__ import annotations

import argparse
import base64
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from load_predict import digit_png, ensure_model, server

BARS = {"3b1b": 10.0, "accurate": 30.0}


def measure(client: httpx.Client, body: dict, n: int) -> np.ndarray:
    for _ in range(10):  # warm-up
        client.post("/api/explain", json=body).raise_for_status()
    times = np.empty(n)
    for i in range(n):
        began = time.perf_counter()
        r = client.post("/api/explain", json=body)
        times[i] = time.perf_counter() - began
        r.raise_for_status()
    return times * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--models", nargs="+", default=["3b1b", "accurate"])
    args = parser.parse_args()
    image = base64.b64encode(digit_png()).decode()
    with (
        tempfile.TemporaryDirectory() as tmp,
        server(Path(tmp)) as (url, _pid),
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        for name in args.models:
            model = ensure_model(client, name)
            ms = measure(client, {"image": image, "model": model}, args.requests)
            p50, p99 = np.percentile(ms, [50, 99])
            bar = BARS.get(name)
            ok = "   " if bar is None else ("OK " if p50 <= bar else "BAD")
            print(f"{ok} {name:<10} n={len(ms)}  p50={p50:6.2f} ms  p99={p99:6.2f} ms")


if __name__ == "__main__":
    main()

"""Heavy requests against a real server (issue 18, item 3): /healthz and memory under load.

Starts the server (`app.main.serve`, as `nn-playground serve`) in a subprocess and, while a
thread polls `GET /healthz` sequentially on its own keep-alive connection and another samples
the server's RSS every 50 ms:

1. 20 concurrent `POST /api/explain` with `"batch": {"source": "test", "size": 10000}` and
   `grad_weights` of 16 requests × 64 neurons (model `accurate`);
2. 300 concurrent `POST /api/predict` of a 3999×3999 PNG (multipart);
3. 200 clients that send 1.8 MB of a 2 MB body and stall (item 6: reported, RSS and how long
   until the server has answered them all; the body timeout is 15 s).

The baseline RSS is taken after a warm-up (the test set loaded and, for `accurate`, which reads
deslanted digits, its deslanted copy cached once per process, ~31 MB: one whole-test-set
explain; one small prediction); after
the loads it waits 30 s and reads the RSS again. Bars: /healthz p99 ≤ 100 ms and max ≤ 500 ms
during each load; RSS ≤ 1 GB at peak and ≤ 1.3× its baseline 30 s later. Requests beyond the
server's bounded pool get 503 + Retry-After: they are counted, not retried.

    python bench/heavy_requests.py [--explains 20] [--predictions 300] [--settle 30]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import multiprocessing as mp
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from healthz_under_load import big_png
from load_predict import server

HEALTHZ_P99_MS, HEALTHZ_MAX_MS = 100.0, 500.0
PEAK_RSS_BYTES, SETTLED_RATIO = 1_000_000_000, 1.3


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def poll_healthz(url: str, stop: Any, out: Any) -> None:
    """Sequential keep-alive GET /healthz until `stop`; the latencies (ms) go to `out`. A
    process of its own: in the flooding process it would also time that process's GIL."""
    latencies = []
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            began = time.perf_counter()
            client.get("/healthz").raise_for_status()
            latencies.append((time.perf_counter() - began) * 1000)
            time.sleep(0.01)
    out.put(latencies)


class Watch:
    """/healthz latencies (from another process) and the server's RSS, until the end."""

    def __init__(self, url: str, pid: int) -> None:
        self.pid = pid
        self.latencies: list[float] = []
        self.peak = 0
        ctx = mp.get_context("spawn")
        self.stop, self.out = ctx.Event(), ctx.Queue()
        self.poller = ctx.Process(target=poll_healthz, args=(url, self.stop, self.out))
        self.sampler = threading.Thread(target=self.sample)

    def __enter__(self) -> Watch:
        self.poller.start()
        self.sampler.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.latencies = self.out.get(timeout=60)
        self.poller.join(30)
        self.sampler.join()

    def sample(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss(self.pid))
            time.sleep(0.05)


async def flood(url: str, requests: list[dict[str, object]]) -> collections.Counter[str]:
    """Send every request at once (one connection each); count the answers by status."""
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:

        async def one(kwargs: dict[str, object]) -> str:
            try:
                r = await client.post(**kwargs)  # type: ignore[arg-type]
                if r.status_code == 503 and "retry-after" not in r.headers:
                    return "503 without Retry-After"
                return str(r.status_code)
            except httpx.HTTPError as exc:
                return type(exc).__name__

        return collections.Counter(await asyncio.gather(*(one(k) for k in requests)))


def phase(url: str, pid: int, label: str, requests: list[dict[str, object]]) -> bool:
    with Watch(url, pid) as watch:
        began = time.perf_counter()
        counts = asyncio.run(flood(url, requests))
        took = time.perf_counter() - began
    ms = np.array(watch.latencies)
    p50, p99 = np.percentile(ms, [50, 99])
    ok = p99 <= HEALTHZ_P99_MS and ms.max() <= HEALTHZ_MAX_MS and watch.peak <= PEAK_RSS_BYTES
    answers = ", ".join(f"{n}× {status}" for status, n in sorted(counts.items()))
    print(f"{'OK ' if ok else 'BAD'} {label}: {answers} in {took:.1f} s")
    print(
        f"    /healthz n={len(ms)} p50={p50:.1f} ms p99={p99:.1f} ms max={ms.max():.1f} ms"
        f" (bars p99 ≤ {HEALTHZ_P99_MS:.0f}, max ≤ {HEALTHZ_MAX_MS:.0f});"
        f" server RSS peak {watch.peak / 1e6:,.0f} MB (bar ≤ {PEAK_RSS_BYTES / 1e6:,.0f})"
    )
    return ok


def stall(port: int, declared: int, sent: int, answered: list[float], began: float) -> None:
    """One slow client: `sent` of `declared` body bytes, then nothing; records when the server
    answered (or closed) the connection."""
    head = (
        f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(head + b" " * sent)
        with contextlib.suppress(OSError):
            sock.recv(65536)
    answered.append(time.monotonic() - began)


def slow_clients(url: str, pid: int, n: int) -> bool:
    """`n` clients that send 1.8 MB of a 2 MB body and stall (issue 18, item 6)."""
    port = int(url.rsplit(":", 1)[1])
    answered: list[float] = []
    began = time.monotonic()
    with Watch(url, pid) as watch:
        threads = [
            threading.Thread(target=stall, args=(port, 1_999_000, 1_800_000, answered, began))
            for _ in range(n)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    ms = np.array(watch.latencies)
    print(
        f"    {n} stalled 1.8-of-2 MB bodies: all answered (408/503) after {max(answered):.1f} s;"
        f" server RSS peak {watch.peak / 1e6:,.0f} MB; /healthz p99={np.percentile(ms, 99):.1f} ms"
    )
    return len(answered) == n


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--explains", type=int, default=20)
    parser.add_argument("--predictions", type=int, default=300)
    parser.add_argument("--size", type=int, default=3999, help="the PNG's side")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds before the last RSS")
    parser.add_argument("--slow-clients", type=int, default=200, help="0: skip that part")
    args = parser.parse_args()
    grads = [{"layer": k % 2, "neurons": list(range(64))} for k in range(16)]
    explain = {"batch": {"source": "test", "size": 10_000}, "model": "accurate"}
    png = big_png(args.size)
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp)) as (url, pid):
        # Warm up, as on a server in use: the test set loaded and (accurate deslants) its
        # deslanted copy cached by one whole-test-set explain; one small prediction.
        warm = {"batch": {"source": "test", "size": 10_000}, "model": "accurate"}
        httpx.post(f"{url}/api/explain", json=warm, timeout=60).raise_for_status()
        small = {"file": ("small.png", big_png(280), "image/png")}
        httpx.post(f"{url}/api/predict", files=small, timeout=60).raise_for_status()
        baseline = rss(pid)
        print(
            f"server pid {pid}, baseline RSS {baseline / 1e6:,.0f} MB (warmed up: test set and its "
            "deslanted copy loaded)"
        )
        explains: list[dict[str, object]] = [
            {"url": "/api/explain", "json": {**explain, "grad_weights": grads}}
        ] * args.explains
        ok = phase(url, pid, f"{args.explains} concurrent 10,000-digit explains", explains)
        predictions: list[dict[str, object]] = [
            {"url": "/api/predict", "files": {"file": ("big.png", png, "image/png")}}
        ] * args.predictions
        label = f"{args.predictions} concurrent {args.size}×{args.size} PNG predictions"
        ok = phase(url, pid, label, predictions) and ok
        if args.slow_clients:
            slow_clients(url, pid, args.slow_clients)
        time.sleep(args.settle)
        settled = rss(pid)
        ratio = settled / baseline
        settled_ok = ratio <= SETTLED_RATIO
        print(
            f"{'OK ' if settled_ok else 'BAD'} RSS {args.settle:.0f} s later: "
            f"{settled / 1e6:,.0f} MB = {ratio:.2f}× baseline (bar ≤ {SETTLED_RATIO}×)"
        )
    print("all bars met" if ok and settled_ok else "some bars missed")


if __name__ == "__main__":
    os.environ.setdefault("NNP_MNIST_DOWNLOAD", "false")
    main()

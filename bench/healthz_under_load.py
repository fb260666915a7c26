"""Event-loop responsiveness: /healthz p50/p99 while ten large PNG predictions run.

Starts uvicorn in a subprocess (the helpers of load_predict.py), then ten client threads each
POST a 3999×3999 PNG drawing (multipart, under the body limit) to /api/predict, `--rounds`
times, while the main thread polls GET /healthz from its own keep-alive connection. Decoding
and preprocessing run in the thread pool, so /healthz (answered on the event loop) should not
wait for them. Bar (issue 11): /healthz p99 ≤ 100 ms.

    python bench/healthz_under_load.py [--size 3999] [--clients 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from load_predict import server
from PIL import Image, ImageDraw

BAR_P99_MS = 100.0


def big_png(size: int) -> bytes:
    """A white "7" drawn with a thick pen on a black size×size canvas."""
    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    pen = max(size // 25, 1)
    draw.line([(size * 0.25, size * 0.2), (size * 0.75, size * 0.2)], fill=255, width=pen)
    draw.line([(size * 0.75, size * 0.2), (size * 0.4, size * 0.85)], fill=255, width=pen)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def predictor(url: str, png: bytes, rounds: int, times: list[float], errors: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=120) as client:
        for _ in range(rounds):
            began = time.perf_counter()
            r = client.post("/api/predict", files={"file": ("big.png", png, "image/png")})
            times.append(time.perf_counter() - began)
            if r.status_code != 200:
                errors.append(f"{r.status_code} {r.text[:120]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=3999)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    png = big_png(args.size)
    print(f"PNG {args.size}×{args.size}: {len(png):,} bytes")
    with (
        tempfile.TemporaryDirectory() as tmp,
        server(Path(tmp)) as (url, _pid),
        httpx.Client(base_url=url, timeout=30) as health,
    ):
        for _ in range(20):  # warm-up: connection, first requests
            health.get("/healthz").raise_for_status()
        predict_times: list[float] = []
        errors: list[str] = []
        threads = [
            threading.Thread(target=predictor, args=(url, png, args.rounds, predict_times, errors))
            for _ in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        latencies = []
        while any(thread.is_alive() for thread in threads):
            began = time.perf_counter()
            health.get("/healthz").raise_for_status()
            latencies.append(time.perf_counter() - began)
            time.sleep(0.01)
        for thread in threads:
            thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} predictions failed, e.g. {errors[0]}")
    ms = np.array(latencies) * 1000
    p50, p99 = np.percentile(ms, [50, 99])
    ok = "OK " if p99 <= BAR_P99_MS else "BAD"
    pred = np.array(predict_times) * 1000
    print(
        f"{ok} /healthz while {args.clients}×{args.rounds} predictions ran: n={len(ms)}  "
        f"p50={p50:.1f} ms  p99={p99:.1f} ms  max={ms.max():.1f} ms  (bar: p99 ≤ {BAR_P99_MS:g})"
    )
    print(
        f"    predictions: n={len(pred)}  p50={np.percentile(pred, 50):.0f} ms  max={pred.max():.0f} ms"
    )


if __name__ == "__main__":
    main()

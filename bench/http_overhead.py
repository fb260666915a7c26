"""The web layer's cost per request: our server next to a bare FastAPI app, in one run.

Starts two servers in subprocesses on free ports with bench/serving.py, both through
`app.main.serve` (the uvicorn settings `nn-playground serve` uses): ours (`create_app()`, with a
fresh data dir) and a bare FastAPI app with one trivial `/healthz` route. Then, from one
sequential keep-alive connection per server (http.client: the client's own cost stays small),
alternating blocks of requests so drift and other load on the machine hit both alike:

* `GET /healthz`: p50/p99 of each and the ratio (bar: ours ≤ 1.3× bare at p50);
* `POST /api/predict` of a 280×280 PNG (JSON, base64) with model `accurate` (bars: p50 ≤ 2.0 ms,
  p99 ≤ 5 ms): the same drawing every time (the bench's historical number), and `--digits`
  different ones in turn (MNIST test digits at random sizes and places on the same canvas:
  their crops differ in size as the page's do, so what is cached per crop size — the resize's
  weights — is also measured cold). The bars are checked on both.

    python bench/http_overhead.py [--requests 3000] [--block 250]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_predict import digit_png
from serving import server

HEALTHZ_RATIO_BAR = 1.3
PREDICT_P50_BAR, PREDICT_P99_BAR = 2.0, 5.0


def connect(url: str) -> http.client.HTTPConnection:
    """A keep-alive connection to the server at `url` (http.client: the client's own cost per
    request stays small)."""
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)


def call(
    conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None
) -> tuple[int, bytes]:
    """One request; a keep-alive connection the server closed meanwhile (uvicorn closes them
    after 5 idle seconds, e.g. while a busy machine starts the other server) is reopened."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    for attempt in (1, 2):
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()  # the next request connects again
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def timed(
    conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None, n: int
) -> list[float]:
    times = []
    for _ in range(n):
        began = time.perf_counter()
        status, data = call(conn, method, path, body)
        times.append((time.perf_counter() - began) * 1000)
        if status != 200:
            raise RuntimeError(f"{method} {path}: {status} {data[:200]!r}")
    return times


def row(label: str, ms: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(ms, [50, 99])
    print(f"  {label:<34} {len(ms):>6} {p50:>9.3f} {p99:>9.3f} {max(ms):>9.2f}")
    return float(p50), float(p99)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="per measurement")
    parser.add_argument("--block", type=int, default=250, help="requests per alternating block")
    parser.add_argument("--digits", type=int, default=500, help="different drawings in turn")
    args = parser.parse_args()
    loads = os.getloadavg()
    png = digit_png()
    predict = body_of(png)
    varied = [body_of(varied_png(i)) for i in range(1, args.digits + 1)]
    with (
        tempfile.TemporaryDirectory() as tmp,
        server(Path(tmp) / "ours") as (ours_url, _),
        server(Path(tmp) / "bare", app="bare") as (bare_url, _),
    ):
        ours, bare = connect(ours_url), connect(bare_url)
        for conn, path, body in ((ours, "/healthz", None), (bare, "/healthz", None),
                                 (ours, "/api/predict", predict)):  # fmt: skip
            timed(conn, "POST" if body else "GET", path, body, 200)  # warm-up
        times: dict[str, list[float]] = {"ours": [], "bare": [], "predict": [], "varied": []}
        turn = 0
        for _ in range(max(1, args.requests // args.block)):
            times["bare"] += timed(bare, "GET", "/healthz", None, args.block)
            times["ours"] += timed(ours, "GET", "/healthz", None, args.block)
            times["predict"] += timed(ours, "POST", "/api/predict", predict, args.block)
            for _ in range(args.block):
                times["varied"] += timed(ours, "POST", "/api/predict", varied[turn], 1)
                turn = (turn + 1) % len(varied)
        ours.close()
        bare.close()
    print(f"sequential keep-alive requests, alternating blocks of {args.block} (ms);"
          f" load average {loads[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
          f" ({os.cpu_count()} CPUs)")  # fmt: skip
    print(f"  {'':<34} {'n':>6} {'p50':>9} {'p99':>9} {'max':>9}")
    bare50, bare99 = row("GET /healthz, bare FastAPI", times["bare"])
    ours50, ours99 = row("GET /healthz, nn-playground", times["ours"])
    one = row(f"POST /api/predict ({len(png):,} B PNG)", times["predict"])
    many = row(f"POST /api/predict ({len(varied)} PNGs)", times["varied"])
    ratio = ours50 / bare50
    verdict = "OK " if ratio <= HEALTHZ_RATIO_BAR else "BAD"
    print(f"{verdict} /healthz p50 ours/bare = {ratio:.2f}x (bar ≤ {HEALTHZ_RATIO_BAR}x);"
          f" p99 ours/bare = {ours99 / bare99:.2f}x")  # fmt: skip
    for what, (p50, p99) in (("one PNG", one), ("different PNGs", many)):
        ok = p50 <= PREDICT_P50_BAR and p99 <= PREDICT_P99_BAR
        print(f"{'OK ' if ok else 'BAD'} predict ({what}) p50 {p50:.2f} ms"
              f" (bar ≤ {PREDICT_P50_BAR}), p99 {p99:.2f} ms (bar ≤ {PREDICT_P99_BAR})")  # fmt: skip


def varied_png(index: int) -> bytes:
    """MNIST test digit `index`, scaled to a random size (its 28 px side to 40–260 px) at a
    random place on a 280×280 canvas: drawings of every size, so their crops (and the resize
    weights cached per crop size) differ as the page's do."""
    from PIL import Image

    from app.data.mnist import load_mnist_test

    images, _ = load_mnist_test(download=False)
    rng = np.random.default_rng(index)
    side = int(rng.integers(40, 261))
    digit = Image.fromarray(images[index % len(images)]).resize((side, side), Image.BILINEAR)
    canvas = Image.new("L", (280, 280), 0)
    canvas.paste(digit, (int(rng.integers(0, 281 - side)), int(rng.integers(0, 281 - side))))
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    return buffer.getvalue()


def body_of(png: bytes) -> bytes:
    """predict's JSON body for a PNG, with model `accurate`."""
    return json.dumps({"image": base64.b64encode(png).decode(), "model": "accurate"}).encode()


if __name__ == "__main__":
    main()

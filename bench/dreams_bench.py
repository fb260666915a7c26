"""How long the dreams of a model take to compute, cold: bar (issue 8) ≤ 2 s per model.

Two measurements per model:

* the core alone: `app.nn.dreams.dream(network)` in this process with one BLAS thread (as the
  server runs it), `--repeats` times (each is a full computation: the core has no cache);
* through the server: a fresh uvicorn subprocess (the helpers of load_predict.py), the first
  `GET /api/models/{id}/dreams` (cold cache: computed) and the second (served from the cache),
  with the `seconds` the server reports for the computation.

    python bench/dreams_bench.py [--repeats 5] [--models 3b1b accurate]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from load_predict import REPO, ensure_model, server

sys.path.insert(0, str(REPO))

from app.nn import load_model, set_blas_threads
from app.nn.dreams import dream
from app.paths import SHIPPED_MODELS_DIR

BAR_SECONDS = 2.0


def core_seconds(name: str, repeats: int) -> np.ndarray:
    network, _ = load_model(SHIPPED_MODELS_DIR / f"{name}.npz")
    times = np.empty(repeats)
    for i in range(repeats):
        began = time.perf_counter()
        dream(network)
        times[i] = time.perf_counter() - began
    return times


def http_seconds(client: httpx.Client, model: str) -> tuple[float, float, float]:
    """(first request, second request, the server's own `seconds`), wall clock."""
    began = time.perf_counter()
    r = client.get(f"/api/models/{model}/dreams")
    first = time.perf_counter() - began
    r.raise_for_status()
    began = time.perf_counter()
    client.get(f"/api/models/{model}/dreams").raise_for_status()
    second = time.perf_counter() - began
    return first, second, float(r.json()["seconds"])


def verdict(seconds: float) -> str:
    return "OK " if seconds <= BAR_SECONDS else "BAD"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=["3b1b", "accurate"])
    args = parser.parse_args()
    set_blas_threads(1)
    for name in args.models:
        t = core_seconds(name, args.repeats)
        median = float(np.median(t))
        print(
            f"{verdict(median)} core  {name:<10} n={len(t)}  median={median:.3f} s  "
            f"max={t.max():.3f} s"
        )
    with (
        tempfile.TemporaryDirectory() as tmp,
        server(Path(tmp)) as (url, _pid),
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        for name in args.models:
            model = ensure_model(client, name)
            first, second, reported = http_seconds(client, model)
            print(
                f"{verdict(first)} http  {name:<10} cold={first:.3f} s "
                f"(server computed {reported:.3f} s)  cached={second * 1000:.1f} ms"
            )


if __name__ == "__main__":
    main()

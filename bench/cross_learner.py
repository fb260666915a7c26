"""Cross-learner mutations (issue 16's bar: 0 succeed): every mutating endpoint, tried with
another learner's identity against one learner's run and model.

Reusable: `try_cross_learner(http, victim_run, victim_model)` takes any httpx-style client
that carries the *intruder's* identity (cookie jar or bearer header) and answers
{endpoint: status}; `successes(results)` counts the 2xx. bench/classroom.py imports it.

Run on its own against a class-mode server it starts (a temporary data dir):

    python bench/cross_learner.py            # prints one line per endpoint and the count
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

# (label, method, path template, JSON body): {run} and {model} are the victim's.
MUTATIONS: tuple[tuple[str, str, str, dict[str, Any] | None], ...] = (
    ("patch run", "PATCH", "/api/runs/{run}", {"learning_rate": 0.01}),
    ("pause run", "POST", "/api/runs/{run}/pause", None),
    ("resume run", "POST", "/api/runs/{run}/resume", None),
    ("step run", "POST", "/api/runs/{run}/step", None),
    ("speed run", "POST", "/api/runs/{run}/speed", {"batches_per_second": 5}),
    ("save run", "POST", "/api/runs/{run}/save", {"name": "stolen"}),
    ("stop run", "POST", "/api/runs/{run}/stop", None),
    ("rename model", "PATCH", "/api/models/{model}", {"name": "stolen"}),
    ("share model", "PATCH", "/api/models/{model}", {"shared": True}),
    ("set default model", "PUT", "/api/models/default", {"id": "{model}"}),
    ("change limits", "PATCH", "/api/class/limits", {"active_runs": 99}),
    ("push class config", "PUT", "/api/class/config", {"config": None}),
    ("delete model", "DELETE", "/api/models/{model}", None),
    ("delete run", "DELETE", "/api/runs/{run}", None),
)
# A drawn stroke (a blank drawing is refused with 422 whoever asks).
PIXELS = [1.0 if 10 <= i % 28 <= 17 and 5 <= i // 28 <= 22 else 0.0 for i in range(784)]
# Using a model its owner has not shared (reads that need the model itself).
PRIVATE_USES: tuple[tuple[str, str, str, dict[str, Any] | None], ...] = (
    ("predict with model", "POST", "/api/predict", {"pixels": PIXELS, "model": "{model}"}),
    ("explain with model", "POST", "/api/explain", {"pixels": PIXELS, "model": "{model}"}),
    ("model network", "GET", "/api/models/{model}/network", None),
    ("model weights", "GET", "/api/models/{model}/weights", None),
    ("model dreams", "GET", "/api/models/{model}/dreams", None),
    ("model export", "GET", "/api/models/{model}/export?format=json", None),
)


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def try_all(
    http: httpx.Client, calls: tuple[tuple[str, str, str, dict[str, Any] | None], ...], **ids: str
) -> dict[str, int]:
    results: dict[str, int] = {}
    for label, method, path, body in calls:
        kwargs = {} if body is None else {"json": _fill(body, ids)}
        results[label] = http.request(method, path.format(**ids), **kwargs).status_code
    return results


def try_cross_learner(http: httpx.Client, victim_run: str, victim_model: str) -> dict[str, int]:
    """Every mutating endpoint and every private use, as the intruder `http` is."""
    mutations = try_all(http, MUTATIONS, run=victim_run, model=victim_model)
    uses = try_all(http, PRIVATE_USES, run=victim_run, model=victim_model)
    return {**mutations, **uses}


def successes(results: dict[str, int]) -> int:
    return sum(1 for status in results.values() if 200 <= status < 300)


# ---- standalone: a class-mode server of its own -------------------------------------------


def _wait(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.1)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def main() -> int:
    port = int(os.environ.get("PORT", "8765"))
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NNP_DATA_DIR": tmp, "NNP_CLASS": "1", "NNP_PORT": str(port)}
        server = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(lambda: _up(url), 60)
            results = run_against(url, Path(tmp))
        finally:
            server.terminate()
            server.wait(30)
    for label, status in results.items():
        print(f"{label:24} {status}")
    print(f"cross-learner successes: {successes(results)} of {len(results)} (bar: 0)")
    return 0 if successes(results) == 0 else 1


def run_against(url: str, data_dir: Path) -> dict[str, int]:
    """Learner A starts a run and saves a model; learner B tries everything on them."""
    with httpx.Client(base_url=url, timeout=60) as a, httpx.Client(base_url=url, timeout=60) as b:
        a.get("/api/me")
        b.get("/api/me")
        run = a.post("/api/runs", json={"preset": "3b1b", "epochs": 50}).json()["id"]
        _wait(lambda: a.get(f"/api/runs/{run}").json()["status"] == "running", 120)
        _wait(lambda: a.get(f"/api/runs/{run}").json()["progress"]["step"] > 0, 120)
        model = a.post(f"/api/runs/{run}/save", json={"name": "mine"}).json()["id"]
        try:
            return try_cross_learner(b, run, model)
        finally:
            a.post(f"/api/runs/{run}/stop")


if __name__ == "__main__":
    sys.exit(main())

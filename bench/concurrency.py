"""Runs in worker processes: concurrency, the cost of a worker, and 30 clients at once.

Starts a real server (see load_predict.py) and measures, in one go:

1. two `3b1b` runs started together against one alone: the aggregate throughput ratio
   (2 × one run's time / the pair's time, from POST to the end; bar ≥ 1.8× on 2 cores);
2. one run in a worker against `nn-playground train` with the same config: samples/s over the
   whole run, evaluations included, for both (bar ≥ 95%);
3. the first metrics event's latency after `POST /api/runs` (median of a few; bar ≤ 1.5 s);
4. 30 clients that each start a short run at once and watch it over the WebSocket: how many
   were created, how many finished, and whether every watcher's history equals
   `GET /api/runs/{id}` (bar: all 30, all 30, all equal).

    python bench/concurrency.py [--epochs 10] [--clients 30] [--latency-samples 3]

Numbers from a loaded machine mean little: run it with nothing else running.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_predict import REPO, server

ENDED = {"finished", "stopped", "diverged", "failed", "interrupted"}
SHORT = {"preset": "3b1b", "epochs": 1, "train_subset": 5000, "validation_size": 1000}


async def until_ended(client: httpx.AsyncClient, run_id: str) -> tuple[float, float, dict]:
    """Poll a run; (time of its first metrics point, time it ended, its final info)."""
    first = None
    while True:
        info = (await client.get(f"/api/runs/{run_id}")).json()
        now = time.perf_counter()
        if first is None and info["history"]["metrics"]["step"]:
            first = now
        if info["status"] in ENDED:
            return first or now, now, info
        await asyncio.sleep(0.02)


async def timed_runs(client: httpx.AsyncClient, config: dict, n: int) -> float:
    """Seconds from starting `n` runs together to the last one's end."""
    began = time.perf_counter()
    ids = [(await client.post("/api/runs", json=config)).json()["id"] for _ in range(n)]
    results = await asyncio.gather(*(until_ended(client, run_id) for run_id in ids))
    assert all(info["status"] == "finished" for _, _, info in results), results
    return max(end for _, end, _ in results) - began


async def concurrency(client: httpx.AsyncClient, epochs: int) -> dict[str, float]:
    config = {"preset": "3b1b", "epochs": epochs}
    one = await timed_runs(client, config, 1)
    two = await timed_runs(client, config, 2)
    return {"one_run_s": one, "two_runs_s": two, "aggregate_ratio": 2 * one / two}


def cli_samples_per_second(epochs: int) -> float:
    """`nn-playground train --preset 3b1b --json`: samples over the whole run's seconds."""
    command = "import sys; from app.cli import main; sys.exit(main())"
    out = subprocess.run(
        [sys.executable, "-c", command, "train", "--preset", "3b1b", "--epochs", str(epochs),
         "--json"],
        capture_output=True, text=True, check=True, cwd=REPO,
    ).stdout  # fmt: skip
    summary = json.loads(out.strip().splitlines()[-1])
    return summary["samples_seen"] / summary["seconds"]


async def worker_samples_per_second(client: httpx.AsyncClient, epochs: int) -> float:
    """The same run through the server: samples/s between the first poll that sees it training
    and the first that sees it ended (light polls, 10 a second, of the run list)."""
    run_id = (await client.post("/api/runs", json={"preset": "3b1b", "epochs": epochs})).json()
    first: tuple[float, int] | None = None
    while True:
        (info,) = [
            r for r in (await client.get("/api/runs")).json()["runs"] if r["id"] == run_id["id"]
        ]
        now, seen = time.perf_counter(), info["progress"]["samples_seen"]
        if first is None and seen:
            first = (now, seen)
        if info["status"] in ENDED:
            assert first is not None and info["status"] == "finished", info
            return (seen - first[1]) / (now - first[0])
        await asyncio.sleep(0.1)


async def first_metrics_latency(client: httpx.AsyncClient, samples: int) -> list[float]:
    latencies = []
    for _ in range(samples):
        began = time.perf_counter()
        run_id = (await client.post("/api/runs", json={**SHORT, "epochs": 3})).json()["id"]
        while not (await client.get(f"/api/runs/{run_id}")).json()["history"]["metrics"]["step"]:
            await asyncio.sleep(0.005)
        latencies.append(time.perf_counter() - began)
        await client.post(f"/api/runs/{run_id}/stop")
    return latencies


async def one_client(url: str) -> dict[str, Any]:
    """Start a run, watch it to its end, compare what it saw with the run's stored history."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        r = await client.post("/api/runs", json=SHORT)
        if r.status_code != 201:
            return {"created": False, "finished": False, "equal": False}
        run_id = r.json()["id"]
        ws_url = url.replace("http", "ws") + f"/api/runs/{run_id}/events"
        async with websockets.connect(ws_url, max_size=None) as ws:
            snapshot = json.loads(await ws.recv())
            steps = list(snapshot["run"]["history"]["metrics"]["step"])
            status = snapshot["run"]["status"]
            while status not in ENDED:
                message = json.loads(await ws.recv())
                if message["type"] == "metrics":
                    steps += message["points"]["step"]
                elif message["type"] == "status":
                    status = message["status"]
        info = (await client.get(f"/api/runs/{run_id}")).json()
        return {
            "created": True,
            "finished": info["status"] == "finished",
            "equal": steps == info["history"]["metrics"]["step"],
        }


async def many_clients(url: str, n: int) -> dict[str, float]:
    began = time.perf_counter()
    results = await asyncio.gather(*(one_client(url) for _ in range(n)))
    return {
        "clients": n,
        "created": sum(r["created"] for r in results),
        "finished": sum(r["finished"] for r in results),
        "histories_equal": sum(r["equal"] for r in results),
        "seconds": time.perf_counter() - began,
    }


async def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        report: dict[str, Any] = {"concurrency": await concurrency(client, args.epochs)}
        worker = await worker_samples_per_second(client, args.epochs)
        latencies = await first_metrics_latency(client, args.latency_samples)
    cli = cli_samples_per_second(args.epochs)
    report["worker_vs_cli"] = {"worker": worker, "cli": cli, "ratio": worker / cli}
    report["first_metrics_s"] = {"median": statistics.median(latencies), "all": latencies}
    report["many_clients"] = await many_clients(url, args.clients)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the 3b1b runs")
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--latency-samples", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data, server(Path(data)) as (url, _):
        report = asyncio.run(measure(url, args))
    c, w, f, m = (
        report["concurrency"], report["worker_vs_cli"], report["first_metrics_s"],
        report["many_clients"],
    )  # fmt: skip
    print(
        f"two 3b1b runs at once: {c['aggregate_ratio']:.2f}x the aggregate throughput of one "
        f"({c['one_run_s']:.2f} s alone, {c['two_runs_s']:.2f} s for both; bar >= 1.8x)"
    )
    print(
        f"one run in a worker: {w['worker']:,.0f} samples/s vs nn-playground train "
        f"{w['cli']:,.0f}: {w['ratio']:.1%} (bar >= 95%)"
    )
    print(
        f"first metrics after POST: median {f['median']:.2f} s "
        f"({', '.join(f'{x:.2f}' for x in f['all'])}; bar <= 1.5 s)"
    )
    print(
        f"{m['clients']} clients at once: {m['created']} created, {m['finished']} finished, "
        f"{m['histories_equal']} watcher histories equal to GET, in {m['seconds']:.1f} s"
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()

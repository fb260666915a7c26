"""Runs in worker processes: concurrency, the cost of a worker, and 30 clients at once.

Starts a real server (see load_predict.py) and measures, in one go:

1. two `3b1b` runs started together against one alone: the aggregate throughput ratio
   (2 × one run's time / the pair's time, from POST to the end; bar ≥ 1.8× on 2 cores), and
   the same while training; the median of `--repeats` tries' ratios, each try a single run
   then a pair (ratios within a try cancel the machine's drift);
2. one run in a worker against `nn-playground train` with the same config: samples/s over the
   whole run, evaluations included, for both (bar ≥ 95%); the median of `--repeats` tries'
   ratios, each try a run in a worker then the CLI;
3. the first metrics event's latency after `POST /api/runs` (median of a few; bar ≤ 1.5 s);
4. 30 clients that each start a short run at once and watch it over the WebSocket: how many
   were created, how many finished, and whether every watcher's history equals
   `GET /api/runs/{id}` (bar: all 30, all 30, all equal);
5. 100 WebSocket watchers on one run: its throughput with and without them (bar: < 5% cost;
   bench/ws_watchers.py's alternating windows);
6. `POST /api/predict` (a 280×280 PNG, the default model) while two runs train: p50 and p99
   of 1,000 sequential requests (bar: p99 ≤ 10 ms);
7. on a two-node Ray cluster (each node `--num-cpus=1`, in a network namespace of its own, as
   in the tests): two runs, where they trained, the CPU their Ray workers and the web server
   used, and how long after the trainer emitted them metrics reached a WebSocket watcher
   (bar: one run per node, training CPU in the workers, p50 ≤ 100 ms). Needs root and the
   [ray] extra; `--no-ray` skips it.

    python bench/concurrency.py [--epochs 20] [--repeats 5] [--clients 30] [--latency-samples 3] [--no-ray]

Numbers from a loaded machine mean little: run it with nothing else running.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_predict import REPO, digit_png, server

sys.path.insert(0, str(REPO))
from load_predict import measure as measure_predict
from ws_watchers import measure_watchers, print_watchers

from tests.runs.support import children_of, cpu_seconds  # the tests' /proc readers

ENDED = {"finished", "stopped", "diverged", "failed", "interrupted"}
SHORT = {"preset": "3b1b", "epochs": 1, "train_subset": 5000, "validation_size": 1000}


@dataclass
class Watched:
    """A run watched to its end: when its first metrics message arrived (and the samples it had
    trained by then), when its final status arrived, and its final info."""

    first_at: float
    first_samples: int
    ended_at: float
    info: dict


async def until_ended(url: str, run_id: str) -> Watched:
    """Watch a run over its WebSocket to its end. The server pushes the metrics and the final
    status, so the measuring client adds no load to the server (polling the run list 20 times
    a second cost the server ~4% of a core, and so the trainers a few percent) and no polling
    interval to the times."""
    first: tuple[float, int] | None = None
    async with websockets.connect(
        url.replace("http", "ws") + f"/api/runs/{run_id}/events", max_size=None
    ) as ws:
        status = json.loads(await ws.recv())["run"]["status"]
        while status not in ENDED:
            message = json.loads(await ws.recv())
            if first is None and message["type"] == "metrics":
                first = (time.perf_counter(), message["samples_seen"])
            elif message["type"] == "status":
                status = message["status"]
    now = time.perf_counter()
    async with httpx.AsyncClient(base_url=url) as client:
        info = (await client.get(f"/api/runs/{run_id}")).json()
    first_at, first_samples = first or (now, 0)
    return Watched(first_at, first_samples, now, info)


async def timed_runs(client: httpx.AsyncClient, config: dict, n: int) -> tuple[float, float]:
    """Starting `n` runs together: (seconds from the POSTs to the last one's end, their
    aggregate samples a second while training: the sum of each run's samples over its own
    first progress → end)."""
    began = time.perf_counter()
    ids = [(await client.post("/api/runs", json=config)).json()["id"] for _ in range(n)]
    url = str(client.base_url).rstrip("/")
    results = await asyncio.gather(*(until_ended(url, run_id) for run_id in ids))
    assert all(w.info["status"] == "finished" for w in results), [w.info for w in results]
    end = max(w.ended_at for w in results)
    rates = [w.info["progress"]["samples_seen"] / (w.ended_at - w.first_at) for w in results]
    return end - began, sum(rates)


async def concurrency(client: httpx.AsyncClient, epochs: int, repeats: int) -> dict[str, Any]:
    """One run alone, then two at once, `repeats` times; each try's ratio compares the pair with
    the single run just before it, and the result is the median of those ratios (this machine's
    speed drifts by several percent over a minute, and a ratio within one try cancels that)."""
    config = {"preset": "3b1b", "epochs": epochs}
    ones, twos = [], []
    for _ in range(repeats):
        ones.append(await timed_runs(client, config, 1))
        twos.append(await timed_runs(client, config, 2))
    ratios = [2 * one / two for (one, _), (two, _) in zip(ones, twos, strict=True)]
    rate_ratios = [two / one for (_, one), (_, two) in zip(ones, twos, strict=True)]
    return {
        "one_run_s": statistics.median(t for t, _ in ones),
        "two_runs_s": statistics.median(t for t, _ in twos),
        "aggregate_ratio": statistics.median(ratios),  # end to end: worker start, MNIST load
        "aggregate_ratios": ratios,
        "one_samples_per_s": statistics.median(r for _, r in ones),
        "two_samples_per_s": statistics.median(r for _, r in twos),
        "training_ratio": statistics.median(rate_ratios),  # while training
        "tries": {"one": ones, "two": twos},
    }


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
    """The same run through the server: the samples it trained between the arrival of its
    first metrics message and of its final status, over that time (watched over the
    WebSocket: exact to a few ms, where polling 10 times a second was off by up to 3% of a
    3 s run)."""
    run_id = (await client.post("/api/runs", json={"preset": "3b1b", "epochs": epochs})).json()
    watched = await until_ended(str(client.base_url).rstrip("/"), run_id["id"])
    assert watched.info["status"] == "finished", watched.info
    trained = watched.info["progress"]["samples_seen"] - watched.first_samples
    return trained / (watched.ended_at - watched.first_at)


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


def predict_while_training(url: str, requests: int) -> dict[str, float]:
    """p50/p99 of POST /api/predict (the default model) while two long 3b1b runs train."""
    body = {"image": base64.b64encode(digit_png()).decode()}
    with httpx.Client(base_url=url, timeout=30) as client:
        ids = [
            client.post("/api/runs", json={"preset": "3b1b", "epochs": 100}).json()["id"]
            for _ in range(2)
        ]
        deadline = time.monotonic() + 60
        while any(client.get(f"/api/runs/{i}").json()["status"] != "running" for i in ids):
            if time.monotonic() > deadline:
                raise RuntimeError("the runs did not start")
            time.sleep(0.1)
        ms = measure_predict(client, body, requests)
        rates = [client.get(f"/api/runs/{i}").json()["latest"]["samples_per_second"] for i in ids]
        for run_id in ids:
            client.post(f"/api/runs/{run_id}/stop")
    p50, p99 = np.percentile(ms, [50, 99])
    return {"p50_ms": float(p50), "p99_ms": float(p99), "max_ms": float(ms.max()),
            "runs_samples_per_s": rates}  # fmt: skip


@contextlib.contextmanager
def client_priority(nice: int) -> Iterator[None]:
    """Run this (the measuring client's) thread, and the threads and processes it starts
    meanwhile, at `nice`. The throughput parts run at 19: clients normally live on other
    machines, and at the server's priority this one's watching would be charged to the
    trainers (workers run at nice 10, below the server); the `nn-playground train` it starts
    for comparison is alone on the machine, so its priority changes nothing. The latency parts
    run at the normal priority, in threads made after it, so the client does not delay its own
    timings. Going back up needs root; without it the rest runs at the lower priority."""
    before = os.getpriority(os.PRIO_PROCESS, 0)
    os.setpriority(os.PRIO_PROCESS, 0, nice)
    try:
        yield
    finally:
        with contextlib.suppress(PermissionError):
            os.setpriority(os.PRIO_PROCESS, 0, before)


async def measure(url: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        with client_priority(19):
            report: dict[str, Any] = {
                "concurrency": await concurrency(client, args.epochs, args.repeats)
            }
            # Alternated `repeats` times: the run in a worker, then the CLI alone.
            workers, clis = [], []
            for _ in range(args.repeats):
                workers.append(await worker_samples_per_second(client, args.epochs))
                clis.append(await asyncio.to_thread(cli_samples_per_second, args.epochs))
        latencies = await first_metrics_latency(client, args.latency_samples)
    ratios = [w / c for w, c in zip(workers, clis, strict=True)]  # each try's own ratio
    report["worker_vs_cli"] = {
        "worker": statistics.median(workers), "cli": statistics.median(clis),
        "ratio": statistics.median(ratios), "ratios": ratios, "workers": workers, "clis": clis,
    }  # fmt: skip
    report["first_metrics_s"] = {"median": statistics.median(latencies), "all": latencies}
    report["many_clients"] = await many_clients(url, args.clients)
    report["watchers"] = await measure_watchers(url, pid, 100, args.window, args.rounds)
    # A new thread: asyncio.to_thread's pool threads were made at nice 19 (a thread's nice is
    # its own, and a new thread inherits its creator's), and predictions timed at nice 19,
    # below the workers' 10, measure the client's wait for a core (p50 5.3 ms, not 2.3 ms).
    with ThreadPoolExecutor(1) as fresh:
        report["predict_while_training"] = await asyncio.get_running_loop().run_in_executor(
            fresh, predict_while_training, url, args.requests
        )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--epochs",
        type=int,
        default=20,
        help="epochs of the 3b1b runs (long enough that the "
        "workers' start, ~0.3 s, is a small part of a run)",
    )
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5, help="tries of one run and of two")
    parser.add_argument("--latency-samples", type=int, default=3)
    parser.add_argument("--window", type=float, default=5.0, help="seconds per watcher window")
    parser.add_argument("--rounds", type=int, default=3, help="watcher rounds")
    parser.add_argument("--requests", type=int, default=1000, help="predictions while training")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray cluster part")
    parser.add_argument("--inside-ray", metavar="ADDRESS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside_ray:  # the Ray part, run by on_ray() inside the cluster's namespace
        print(json.dumps(asyncio.run(ray_inside(args.inside_ray, args.epochs))))
        return
    with tempfile.TemporaryDirectory() as data, server(Path(data)) as (url, pid):
        report = asyncio.run(measure(url, pid, args))
    if not args.no_ray:
        report["ray"] = on_ray(args.epochs)
    c, w, f, m = (
        report["concurrency"], report["worker_vs_cli"], report["first_metrics_s"],
        report["many_clients"],
    )  # fmt: skip
    print(
        f"two 3b1b runs at once: {c['aggregate_ratio']:.2f}x the aggregate throughput of one "
        f"(median of {len(c['aggregate_ratios'])} tries' ratios: "
        f"{', '.join(f'{x:.2f}' for x in c['aggregate_ratios'])}; medians {c['one_run_s']:.2f} s "
        f"alone, {c['two_runs_s']:.2f} s for both; bar >= 1.8x)"
    )
    print(
        f"one run in a worker: {w['worker']:,.0f} samples/s vs nn-playground train "
        f"{w['cli']:,.0f}: {w['ratio']:.1%} (median of the tries' "
        f"{', '.join(f'{x:.1%}' for x in w['ratios'])}; bar >= 95%)"
    )
    print(
        f"first metrics after POST: median {f['median']:.2f} s "
        f"({', '.join(f'{x:.2f}' for x in f['all'])}; bar <= 1.5 s)"
    )
    print(
        f"{m['clients']} clients at once: {m['created']} created, {m['finished']} finished, "
        f"{m['histories_equal']} watcher histories equal to GET, in {m['seconds']:.1f} s"
    )
    print_watchers(report["watchers"])
    p = report["predict_while_training"]
    print(
        f"POST /api/predict while two runs train: p50 {p['p50_ms']:.2f} ms, p99 "
        f"{p['p99_ms']:.2f} ms, max {p['max_ms']:.1f} ms (bar: p99 <= 10 ms)"
    )
    print(
        f"two runs at once, while training: {c['training_ratio']:.2f}x one run's samples/s "
        f"({c['one_samples_per_s']:,.0f} vs {c['two_samples_per_s']:,.0f})"
    )
    if "ray" in report:
        print_ray(report["ray"])
    print(json.dumps(report))


# ---- 7. the Ray cluster ---------------------------------------------------------------------


def on_ray(epochs: int) -> dict[str, Any]:
    """Start the tests' two-node cluster in a network namespace; measure inside it."""
    from tests.runs.ray_cluster import RayCluster

    with RayCluster() as cluster:
        done = cluster.run(
            [sys.executable, str(Path(__file__).resolve()), "--inside-ray", cluster.address,
             "--epochs", str(epochs)],
            timeout=600,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"the Ray part failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


async def watch_lags(url: str, run_id: str) -> list[float]:
    """Seconds from the trainer's emission of each metrics message's last point to its arrival."""
    lags = []
    async with websockets.connect(url.replace("http", "ws") + f"/api/runs/{run_id}/events",
                                  max_size=None) as ws:  # fmt: skip
        status = json.loads(await ws.recv())["run"]["status"]
        while status not in ENDED:
            message = json.loads(await ws.recv())
            if message["type"] == "metrics" and message.get("emitted_at"):
                lags.append(time.time() - message["emitted_at"])
            elif message["type"] == "status":
                status = message["status"]
    return lags


async def ray_inside(address: str, epochs: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as data,
        server(Path(data), NNP_RAY_ADDRESS=address) as (
            url,
            pid,
        ),
    ):
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            config = {"preset": "3b1b", "epochs": epochs}
            ids = [(await client.post("/api/runs", json=config)).json()["id"] for _ in range(2)]
            watchers = [asyncio.create_task(watch_lags(url, i)) for i in ids]
            placements: list[dict[str, Any]] = []
            for run_id in ids:
                while not (info := (await client.get(f"/api/runs/{run_id}")).json())["placement"]:
                    await asyncio.sleep(0.01)
                placements.append(info["placement"])
            server0 = cpu_seconds(pid)
            driver0 = sum(cpu_seconds(p) for p in children_of(pid))
            server_cpu = driver_cpu = 0.0
            workers = {p["pid"]: 0.0 for p in placements}
            while not all(w.done() for w in watchers):
                for worker in workers:  # the most each was seen to use (it exits at the end)
                    workers[worker] = max(workers[worker], cpu_seconds(worker))
                server_cpu = cpu_seconds(pid) - server0
                driver_cpu = sum(cpu_seconds(p) for p in children_of(pid)) - driver0
                await asyncio.sleep(0.05)
            lags = [lag for w in watchers for lag in await w]
            finals = [(await client.get(f"/api/runs/{i}")).json() for i in ids]
    return {
        "nodes": [p["node_id"] for p in placements],
        "statuses": [f["status"] for f in finals],
        "worker_cpu_s": list(workers.values()),
        "server_cpu_s": server_cpu,  # the web process
        "driver_cpu_s": driver_cpu,  # its Ray bridge (the driver: routes messages, no training)
        "lag_p50_ms": 1000 * statistics.median(lags),
        "lag_p95_ms": 1000 * float(np.percentile(lags, 95)),
        "lag_messages": len(lags),
    }


def print_ray(r: dict[str, Any]) -> None:
    spread = len(set(r["nodes"])) == 2
    print(
        f"Ray, two nodes: runs on {len(set(r['nodes']))} different nodes "
        f"({'OK' if spread else 'BAD'}), {', '.join(r['statuses'])}; training CPU in the Ray "
        f"workers {', '.join(f'{x:.1f}' for x in r['worker_cpu_s'])} s, web server "
        f"{r['server_cpu_s']:.1f} s, its Ray driver {r['driver_cpu_s']:.1f} s; metrics reach a watcher p50 "
        f"{r['lag_p50_ms']:.0f} ms, p95 {r['lag_p95_ms']:.0f} ms after the trainer emits them "
        f"({r['lag_messages']} messages; bar p50 <= 100 ms)"
    )


if __name__ == "__main__":
    main()

"""A class in one run (issue 16's bars): simulated learners against a real class-mode server.

Starts a server on 127.0.0.1 in class mode (NNP_CLASS=1, a teacher token of its own, a
temporary data dir; see load_predict.server), then:

* every learner gets its own identity (a cookie jar: GET /api/me), and all of them start a
  `3b1b` run of --epochs epochs at once: the last 201 must come within 1 s of the first POST;
* each learner watches its own run's WebSocket until it ends: every run must finish, its
  queue position must only ever go down, and the snapshot plus every streamed point and
  evaluation must be the run's whole history (as GET /api/runs/{id} has it at the end);
* meanwhile a separate process asks POST /api/predict (a drawn digit, as the learners in
  turn) ~--predict-rate times a second: p99 ≤ 50 ms;
* and the teacher's dashboard feed (/api/class/events, with the teacher token) must show each
  status change a learner's socket sees within 1 s (measured from the moment the learner's
  socket heard it: "lag"; a status the dashboard skipped because a later one replaced it
  within one refresh counts as shown when the later one is);
* at the end, learner 1 tries every mutating endpoint on learner 0's run and saved model
  (bench/cross_learner.py, classcore's checker): 0 may succeed.

Prints each bar and whether it was met; exits 1 if any was missed.

    python bench/classroom.py                        # 30 learners, 3 epochs
    python bench/classroom.py --learners 4 --epochs 1  # a quick check that it works
    python bench/classroom.py --warm-up              # after a demo run: workers' machinery up

Timings are only meaningful on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import multiprocessing as mp
import os
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_predict import digit_png, server

ENDED = {"finished", "stopped", "failed", "interrupted"}
START_BAR = 1.0  # s: all runs accepted within
PREDICT_P99_BAR = 50.0  # ms
DASHBOARD_BAR = 1.0  # s
CATCH_UP = 2.0  # s the dashboard is still read after the last run ended


@dataclass
class Learner:
    index: int
    http: httpx.AsyncClient
    cookie: str = ""
    run_id: str = ""
    accepted_at: float = 0.0
    statuses: list[tuple[float, str]] = field(default_factory=list)  # (time, status) changes
    queue_positions: list[int] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    evaluations: list[int] = field(default_factory=list)
    final: str | None = None
    complete: bool = False


# -- the learners -------------------------------------------------------------------------


async def join(base: str, index: int) -> Learner:
    http = httpx.AsyncClient(base_url=base, timeout=30)
    me = await http.get("/api/me")  # sets the identity cookie (class mode)
    learner = Learner(index, http)
    if me.status_code == 200:
        await http.patch("/api/me", json={"name": f"learner-{index:02d}"})
    learner.cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    return learner


async def start_run(learner: Learner, epochs: int) -> None:
    r = await learner.http.post("/api/runs", json={"preset": "3b1b", "epochs": epochs})
    learner.accepted_at = time.monotonic()
    r.raise_for_status()
    learner.run_id = r.json()["id"]


def _status(learner: Learner, status: str, position: int | None) -> None:
    if not learner.statuses or learner.statuses[-1][1] != status:
        learner.statuses.append((time.monotonic(), status))
    if status == "queued" and position is not None:
        learner.queue_positions.append(position)


async def watch(base: str, learner: Learner) -> None:
    """Follow the learner's own run on its WebSocket until it ends."""
    url = base.replace("http", "ws", 1) + f"/api/runs/{learner.run_id}/events"
    headers = {"Cookie": learner.cookie} if learner.cookie else {}
    async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
        async for text in ws:
            message = json.loads(text)
            kind = message["type"]
            if kind == "snapshot":
                run = message["run"]
                learner.steps += run["history"]["metrics"]["step"]
                learner.evaluations += [e["epoch"] for e in run["history"]["evaluations"]]
                _status(learner, run["status"], run["queue_position"])
            elif kind == "metrics":
                learner.steps += message["points"]["step"]
            elif kind == "evaluation":
                learner.evaluations.append(message["epoch"])
            elif kind == "status":
                _status(learner, message["status"], message["queue_position"])
            if learner.statuses and learner.statuses[-1][1] in ENDED:
                break
    learner.final = learner.statuses[-1][1] if learner.statuses else None


async def check_history(learner: Learner, epochs: int) -> None:
    detail = (await learner.http.get(f"/api/runs/{learner.run_id}")).json()
    history = detail["history"]
    learner.complete = (
        learner.steps == history["metrics"]["step"]
        and learner.evaluations == [e["epoch"] for e in history["evaluations"]]
        and learner.evaluations == list(range(1, epochs + 1))
    )


# -- the teacher's dashboard --------------------------------------------------------------


async def dashboard(
    base: str, token: str, seen: dict[str, list[tuple[float, str]]], done: asyncio.Event
) -> int:
    """Read /api/class/events as the teacher until `done`; record each run's status changes.
    Answers how many messages came."""
    url = base.replace("http", "ws", 1) + "/api/class/events"
    headers = {"Authorization": f"Bearer {token}"}
    count = 0
    async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
        while not done.is_set():
            try:
                text = await asyncio.wait_for(ws.recv(), 0.2)
            except TimeoutError:
                continue
            now = time.monotonic()
            count += 1
            for summary in json.loads(text).get("runs", []):
                changes = seen.setdefault(summary["id"], [])
                if not changes or changes[-1][1] != summary["status"]:
                    changes.append((now, summary["status"]))
    return count


def dashboard_lags(
    learners: list[Learner], seen: dict[str, list[tuple[float, str]]]
) -> tuple[list[float], int]:
    """For every status change a learner's socket heard: how long until the dashboard showed
    it (or a later status of the same run). Also answers how many it never showed."""
    lags: list[float] = []
    missed = 0
    for learner in learners:
        order = [status for _, status in learner.statuses]
        shown = seen.get(learner.run_id, [])
        for k, (heard_at, _) in enumerate(learner.statuses):
            later = set(order[k:])
            times = [t for t, status in shown if status in later and order.index(status) >= k]
            if times:
                lags.append(max(0.0, min(times) - heard_at))
            else:
                missed += 1
    return lags, missed


# -- predictions, from a process of their own ------------------------------------------------


def predict_process(base: str, cookies: list[str], rate: float, stop: Any, out: Any) -> None:
    """POST /api/predict about `rate` times a second, as each learner in turn, until `stop`;
    puts (latencies in ms, statuses) on `out`."""
    body = {"image": base64.b64encode(digit_png()).decode()}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=base, timeout=30) as http:
        i = 0
        while not stop.is_set():
            headers = {"Cookie": cookies[i % len(cookies)]} if cookies[i % len(cookies)] else {}
            began = time.perf_counter()
            r = http.post("/api/predict", json=body, headers=headers)
            elapsed = time.perf_counter() - began
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            if r.status_code == 200:
                latencies.append(elapsed * 1000)
            i += 1
            time.sleep(max(0.0, 1 / rate - elapsed))
    out.put((latencies, statuses))


# -- cross-learner mutations ----------------------------------------------------------------


def cross_learner(base: str, victim: Learner, intruder: Learner) -> tuple[int, int] | str:
    """(successes, tries) of every mutating endpoint tried by `intruder` on `victim`'s run
    and saved model, or why it could not be measured."""
    try:
        from cross_learner import successes, try_cross_learner
    except ImportError as exc:
        return f"not measured: the checker is missing ({exc})"
    with httpx.Client(base_url=base, timeout=30, headers={"Cookie": victim.cookie}) as http:
        saved = http.post(f"/api/runs/{victim.run_id}/save", json={"name": "victim's model"})
        if saved.status_code != 201:
            return f"not measured: saving the victim's run answered {saved.status_code}"
        model = saved.json()["id"]
    if not intruder.cookie or intruder.cookie == victim.cookie:
        return "not measured: the server gave the learners no identities (not in class mode?)"
    with httpx.Client(base_url=base, timeout=30, headers={"Cookie": intruder.cookie}) as http:
        results = try_cross_learner(http, victim.run_id, model)
    return successes(results), len(results)


# -- the class --------------------------------------------------------------------------------


async def warm_up(base: str, token: str) -> None:
    """The teacher trains a tiny run first (a demo before the class): the server's worker
    machinery is then started, as it is on a server that has trained before."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=headers) as http:
        body = {"preset": "3b1b", "epochs": 1, "train_subset": 500, "validation_size": 100}
        run = (await http.post("/api/runs", json=body)).json()["id"]
        while (await http.get(f"/api/runs/{run}")).json()["status"] not in ENDED:
            await asyncio.sleep(0.1)
        await http.delete(f"/api/runs/{run}")


def loop_cpu(pid: int) -> float:
    """CPU seconds the server's main thread (uvicorn's event loop) has used so far."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_class(
    base: str, token: str, n: int, epochs: int, rate: float, warm: bool, pid: int
) -> dict[str, Any]:
    if warm:
        await warm_up(base, token)
    learners = await asyncio.gather(*(join(base, i) for i in range(n)))
    seen: dict[str, list[tuple[float, str]]] = {}
    done = asyncio.Event()
    feed = asyncio.create_task(dashboard(base, token, seen, done))
    ctx = mp.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    predictor = ctx.Process(
        target=predict_process, args=(base, [x.cookie for x in learners], rate, stop, out)
    )
    predictor.start()
    await asyncio.sleep(1.0)  # the dashboard has its snapshot, the predictor is warm
    began, cpu_began = time.monotonic(), loop_cpu(pid)
    await asyncio.gather(*(start_run(x, epochs) for x in learners))
    accepted = sorted(x.accepted_at - began for x in learners)
    spread = accepted[-1]
    print(
        f"{n} runs accepted in {spread:.2f} s (first 201 after {accepted[0]:.2f} s, "
        f"median {accepted[len(accepted) // 2]:.2f} s); training...",
        flush=True,
    )
    await asyncio.gather(*(watch(base, x) for x in learners))
    trained = time.monotonic() - began
    cpu = loop_cpu(pid) - cpu_began
    await asyncio.sleep(CATCH_UP)
    done.set()
    messages = await feed
    stop.set()
    latencies, statuses = out.get(timeout=60)
    predictor.join(30)
    await asyncio.gather(*(check_history(x, epochs) for x in learners))
    lags, missed = dashboard_lags(learners, seen)
    cross = await asyncio.to_thread(cross_learner, base, learners[0], learners[1 % n])
    for x in learners:
        await x.http.aclose()
    return {
        "learners": learners,
        "spread": spread,
        "trained": trained,
        "loop_cpu": cpu,
        "latencies": np.array(latencies),
        "predict_statuses": statuses,
        "lags": np.array(lags),
        "missed": missed,
        "messages": messages,
        "cross": cross,
    }


def bar(ok: bool, text: str) -> bool:
    print(f"{'MET   ' if ok else 'MISSED'} {text}")
    return ok


def report(r: dict[str, Any], n: int) -> bool:
    learners: list[Learner] = r["learners"]
    print(
        f"\nclass of {n}: trained in {r['trained']:.1f} s; the server's event loop used "
        f"{r['loop_cpu']:.1f} CPU-s of it ({r['loop_cpu'] / r['trained']:.0%} of a core); "
        f"the dashboard got {r['messages']} messages"
    )
    results = [
        bar(r["spread"] <= START_BAR, f"all {n} runs started within {START_BAR:.0f} s: "
            f"{r['spread']:.3f} s from the first POST to the last 201"),
    ]  # fmt: skip
    finished = sum(1 for x in learners if x.final == "finished")
    results.append(bar(finished == n, f"all runs finished: {finished}/{n}"))
    rises = sum(1 for x in learners for a, b in itertools.pairwise(x.queue_positions) if b > a)
    longest = max((len(x.queue_positions) for x in learners), default=0)
    results.append(
        bar(rises == 0, f"queue positions only go down: {rises} rises (up to {longest} seen)")
    )
    complete = sum(1 for x in learners if x.complete)
    results.append(bar(complete == n, f"every history complete: {complete}/{n}"))
    ms = r["latencies"]
    if len(ms):
        p50, p99 = np.percentile(ms, [50, 99])
        results.append(
            bar(p99 <= PREDICT_P99_BAR, f"POST /api/predict p99 ≤ {PREDICT_P99_BAR:.0f} ms: "
                f"p99 {p99:.1f} ms (p50 {p50:.1f}, max {ms.max():.1f}, n={len(ms)}; "
                f"statuses {r['predict_statuses']})")
        )  # fmt: skip
    else:
        results.append(bar(False, f"POST /api/predict: no answer ({r['predict_statuses']})"))
    lags = r["lags"]
    worst = float(lags.max()) if len(lags) else float("nan")
    p95 = float(np.percentile(lags, 95)) if len(lags) else float("nan")
    results.append(
        bar(len(lags) > 0 and worst <= DASHBOARD_BAR and r["missed"] == 0,
            f"dashboard shows a status change within {DASHBOARD_BAR:.0f} s: max {worst:.3f} s, "
            f"p95 {p95:.3f} s over {len(lags)} changes; {r['missed']} never shown")
    )  # fmt: skip
    cross = r["cross"]
    if isinstance(cross, str):
        results.append(bar(False, f"0 cross-learner mutations succeed: {cross}"))
    else:
        results.append(
            bar(cross[0] == 0, f"0 cross-learner mutations succeed: {cross[0]} of {cross[1]}")
        )
    return all(results)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--predict-rate", type=float, default=10.0, help="predictions a second")
    parser.add_argument(
        "--warm-up",
        action="store_true",
        help="the teacher trains a tiny run before the class (the worker machinery is up, as "
        "on a server that has trained before); default: the class is the server's first runs",
    )
    args = parser.parse_args()
    if args.learners < 2:
        parser.error("--learners: at least 2 (one learner tries another's run)")
    token = secrets.token_urlsafe(24)
    with (
        tempfile.TemporaryDirectory() as tmp,
        server(Path(tmp), NNP_CLASS="1", NNP_TEACHER_TOKEN=token) as (url, pid),
    ):
        print(f"class-mode server at {url}; {args.learners} learners, 3b1b x {args.epochs} epochs")
        result = asyncio.run(
            run_class(url, token, args.learners, args.epochs, args.predict_rate, args.warm_up, pid)
        )
    sys.exit(0 if report(result, args.learners) else 1)


if __name__ == "__main__":
    main()

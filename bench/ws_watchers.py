"""Training throughput of one run with 0 vs N WebSocket watchers (bar: < 5% cost).

Starts a real server (see load_predict.py), starts long 3b1b runs (their Python overhead needs
the GIL the most, so it is the run watchers can hurt most) and measures their samples/s over
alternating windows without and with N watchers connected to /api/runs/{id}/events, each
reading every message (in a separate, lowest-priority process: see watchers_process): A W A W
… A, each window on a fresh run. Each watched window is compared with the mean of the two
windows around it, which cancels a drift (warm-up, other load on the machine); the ratios of
neighbouring windows without watchers show the noise of the machine. Prints the mean
throughput of each, every round's ratio, their median and the noise.

    python bench/ws_watchers.py [--watchers 100] [--window 5] [--rounds 3]
    python bench/ws_watchers.py --never-read --watchers 200 --window 8 --rounds 8  # issue 18 §7

With --never-read the watchers ask for weight maps (~100 kB a message) and never read a byte
(raw sockets with a small receive buffer); the server should cut them off (no byte taken for
2 s, then 2 s for the close frame) and the run keep ≥ 95% of its throughput. The bench reports
how many were cut by each window's end and how long after its connect each one was cut.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing as mp
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_predict import server


async def samples_seen(client: httpx.AsyncClient, run: str) -> int:
    r = await client.get("/api/runs")
    for info in r.json()["runs"]:
        if info["id"] == run:
            return info["progress"]["samples_seen"]
    raise RuntimeError("run vanished")


def process_cpu(pid: int) -> float:
    """CPU seconds used by the whole server process (every thread; not its workers)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loop_cpu(pid: int) -> float:
    """CPU seconds used by the server's main thread (uvicorn's event loop) so far."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def throughput(
    client: httpx.AsyncClient, run: str, window: float, pid: int
) -> tuple[float, tuple[float, float]]:
    """(samples/s of the run, (fraction of a CPU the event loop used, and the whole server
    process)) over `window` seconds."""
    s0, t0 = await samples_seen(client, run), time.perf_counter()
    c0, p0 = loop_cpu(pid), process_cpu(pid)
    await asyncio.sleep(window)
    s1, t1 = await samples_seen(client, run), time.perf_counter()
    c1, p1 = loop_cpu(pid), process_cpu(pid)
    return (s1 - s0) / (t1 - t0), ((c1 - c0) / (t1 - t0), (p1 - p0) / (t1 - t0))


async def watcher(url: str, counts: list[int], i: int, stop: Any) -> None:
    async with websockets.connect(url, max_size=None) as ws:
        while not stop.is_set():
            try:
                await asyncio.wait_for(ws.recv(), 0.5)
                counts[i] += 1
            except TimeoutError:
                continue


def never_reader(url: str) -> socket.socket:
    """A WebSocket (raw socket, small receive buffer) that asks for weight maps and then never
    reads: what a stalled browser tab or a careless script looks like to the server."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    path = "/" + url.split("//", 1)[1].split("/", 1)[1]
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    payload = json.dumps({"type": "network", "maps": True}).encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
    return sock


def never_readers_process(
    url: str, n: int, ready: Any, stop: Any, total: Any, cut_after: Any = None, go: Any = None
) -> None:
    """`n` never-reading map subscribers, connected once `go` is set; `total` counts those
    the server has cut off, and `cut_after[i]` is how long after its connect socket i was cut
    (-1: not yet)."""
    os.nice(19)
    ready.set()  # started (Python and the imports are not charged to the window)
    if go is not None:
        go.wait()  # the window starts now: the connects and the first maps are in it
    socks, connected = [], []
    for _ in range(n):
        socks.append(never_reader(url))
        connected.append(time.monotonic())
    while not stop.is_set():
        now = time.monotonic()
        for i, sock in enumerate(socks):
            state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
            if state != 1 and cut_after is not None and cut_after[i] < 0:  # 1: established
                cut_after[i] = now - connected[i]
        total.value = sum(1 for x in cut_after if x >= 0) if cut_after is not None else 0
        time.sleep(0.1)
    for sock in socks:
        sock.close()


def watchers_process(url: str, n: int, ready: Any, stop: Any, total: Any) -> None:
    """The watchers, in a separate process at the lowest priority: clients normally live on
    other machines, so their own CPU use should not be charged to the server."""
    os.nice(19)

    async def run() -> None:
        counts = [0] * n
        tasks = [asyncio.create_task(watcher(url, counts, i, stop)) for i in range(n)]
        while sum(1 for c in counts if c) < n:  # every watcher has its snapshot
            await asyncio.sleep(0.05)
        base = sum(counts)
        ready.set()
        while not stop.is_set():
            total.value = sum(counts) - base
            await asyncio.sleep(0.1)
        total.value = sum(counts) - base
        await asyncio.gather(*tasks)

    asyncio.run(run())


async def fresh_run(client: httpx.AsyncClient) -> str:
    """A new long 3b1b run, running and warmed up. Each window gets its own: a 100-epoch 3b1b
    run lasts only ~13 s on an idle machine, too short for three windows."""
    r = await client.post("/api/runs", json={"preset": "3b1b", "epochs": 100})
    r.raise_for_status()
    run = str(r.json()["id"])
    deadline = time.monotonic() + 60
    while (await client.get(f"/api/runs/{run}")).json()["status"] != "running":
        if time.monotonic() > deadline:
            raise RuntimeError("the run did not start")
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # warm-up
    return run


async def window_of(
    client: httpx.AsyncClient, run: str, window: float, pid: int
) -> tuple[float, tuple[float, float]]:
    """throughput() over one window, which must end with the run still training (else the
    window would count idle time), then the run is stopped."""
    rate, cpu = await throughput(client, run, window, pid)
    status = (await client.get(f"/api/runs/{run}")).json()["status"]
    await client.post(f"/api/runs/{run}/stop")
    if status != "running":
        raise RuntimeError(f"the run was {status} at the window's end: use a shorter --window")
    return rate, cpu


async def watched_window(
    client: httpx.AsyncClient, base: str, pid: int, n: int, window: float, never_read: bool
) -> tuple[float, tuple[float, float], float, list[float]]:
    """One window with `n` watchers on a fresh run: (samples/s, loop CPU, messages per
    watcher per second or the number cut off, each never-reader's seconds from connect to
    cut, -1 if not cut by the window's end)."""
    run = await fresh_run(client)
    ws_url = base.replace("http", "ws") + f"/api/runs/{run}/events"
    # spawn, not fork: a forked child would inherit this process's running event loop.
    ctx = mp.get_context("spawn")
    ready, stop, go = ctx.Event(), ctx.Event(), ctx.Event()
    total = ctx.Value("l", 0)
    cut_after = ctx.Array("d", [-1.0] * n)
    if never_read:
        args: tuple[Any, ...] = (ws_url, n, ready, stop, total, cut_after, go)
        proc = ctx.Process(target=never_readers_process, args=args)
    else:
        proc = ctx.Process(target=watchers_process, args=(ws_url, n, ready, stop, total))
    proc.start()
    deadline = time.monotonic() + 120
    while not ready.is_set():
        if not proc.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the watchers did not all connect")
        await asyncio.sleep(0.05)
    before = total.value
    go.set()
    rate, cpu = await window_of(client, run, window, pid)
    seen = total.value if never_read else (total.value - before) / window / n
    stop.set()
    proc.join(30)
    return rate, cpu, seen, list(cut_after) if never_read else []


async def measure_watchers(
    base: str, pid: int, n_watchers: int, window: float, rounds: int, never_read: bool = False
) -> dict[str, Any]:
    """Windows A W A W … A (A: without the watchers, W: with them), each on a fresh 3b1b run;
    each W is compared with the mean of its two neighbours."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        alone = [await window_of(client, await fresh_run(client), window, pid)]
        watched: list[tuple[float, tuple[float, float], float, list[float]]] = []
        for _ in range(rounds):
            watched.append(await watched_window(client, base, pid, n_watchers, window, never_read))
            alone.append(await window_of(client, await fresh_run(client), window, pid))
    around = [(alone[i][0] + alone[i + 1][0]) / 2 for i in range(rounds)]
    ratios = [w[0] / a for w, a in zip(watched, around, strict=True)]
    noise = [alone[i + 1][0] / alone[i][0] for i in range(rounds)]
    cuts = [t for w in watched for t in w[3] if t >= 0]
    return {
        "never_read": never_read,
        "watchers": n_watchers,
        "window": window,
        "alone": sum(around) / rounds,
        "watched": sum(w[0] for w in watched) / rounds,
        "alone_windows": [a[0] for a in alone],
        "watched_windows": [w[0] for w in watched],
        "ratios": ratios,
        "median_ratio": statistics.median(ratios),
        "alone_to_alone": noise,
        "messages_per_watcher_per_s": None if never_read else sum(w[2] for w in watched) / rounds,
        "cut_by_window_end": [int(w[2]) for w in watched] if never_read else None,
        "cut_after_s": _quantiles(cuts) if never_read else None,
        "loop_cpu_alone": sum(a[1][0] for a in alone) / len(alone),
        "loop_cpu_watched": sum(w[1][0] for w in watched) / rounds,
        "server_cpu_alone": sum(a[1][1] for a in alone) / len(alone),
        "server_cpu_watched": sum(w[1][1] for w in watched) / rounds,
        "cost": 1 - (sum(w[0] for w in watched) / sum(around)),
    }


def _quantiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    values = sorted(values)
    return {
        "min": values[0],
        "median": statistics.median(values),
        "p90": values[int(0.9 * (len(values) - 1))],
        "max": values[-1],
    }


def print_watchers(r: dict[str, Any]) -> None:
    alone = ", ".join(f"{x:,.0f}" for x in r["alone_windows"])
    watched = ", ".join(f"{x:,.0f}" for x in r["watched_windows"])
    print(f"0 watchers:   {r['alone']:12,.0f} samples/s  (windows: {alone})")
    print(f"{r['watchers']} watchers: {r['watched']:12,.0f} samples/s  (windows: {watched})")
    ratios = ", ".join(f"{x:.3f}" for x in r["ratios"])
    noise = ", ".join(f"{x:.3f}" for x in r["alone_to_alone"])
    print(f"with / without, per round: {ratios} (median {r['median_ratio']:.3f})")
    print(f"noise: each window without / the one before it: {noise}")
    if r["never_read"]:
        cut = ", ".join(str(x) for x in r["cut_by_window_end"])
        print(
            f"never-reading map subscribers cut off by each window's end: {cut} (of {r['watchers']})"
        )
        q = r["cut_after_s"]
        if q is not None:
            print(
                f"seconds from a never-reader's connect to its cut: min {q['min']:.1f}, "
                f"median {q['median']:.1f}, p90 {q['p90']:.1f}, max {q['max']:.1f}"
            )
    else:
        print(f"messages per watcher per second: {r['messages_per_watcher_per_s']:.1f}")
    print(
        f"server event-loop CPU: {r['loop_cpu_alone']:.1%} alone, "
        f"{r['loop_cpu_watched']:.1%} with watchers; the whole server process: "
        f"{r['server_cpu_alone']:.1%} alone, {r['server_cpu_watched']:.1%} with watchers"
    )
    verdict = "OK" if r["cost"] < 0.05 else "BAD"
    print(f"watchers cost {r['cost']:.1%} of the run's throughput ({verdict}: bar < 5%)")


def main() -> None:
    # Ctrl-C / SIGTERM unwind through the `with` blocks, so the server is always stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--window", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3, help="watched windows (A W A … W A)")
    parser.add_argument(
        "--never-read",
        action="store_true",
        help="watchers that ask for weight maps and never read (issue 18: bar ≥ 95%% of the "
        "throughput without, with 200 of them)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp)) as (base, pid):
        result = asyncio.run(
            measure_watchers(
                base, pid, args.watchers, args.window, args.rounds, never_read=args.never_read
            )
        )
    print_watchers(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

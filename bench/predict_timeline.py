"""Where a prediction's wall-clock time goes, from the client's send to its last byte read.

Starts a server per checkout (`--repo`, default this one; give two to compare them side by side
in one run, e.g. `--repo ../main --repo .`) through `app.main.serve`, with the app wrapped in
a timing layer: an outermost ASGI middleware stamps when the app is called, when the body has
been read, when the response starts and when its last byte is handed to uvicorn, and the
heavy-work gate (app/api/heavy.py) stamps a job's hand-off to the pool, its start and end in the
pool thread (with that thread's CPU time) and its return to the event loop. The client stamps
its send, the response's headers and its last byte. All stamps are `time.perf_counter()`
(CLOCK_MONOTONIC on Linux: one clock for every process), so the segments between them add up
to the client's total. A checkout that answers a small drawing on the event loop has no pool
stamps: its work shows in "body read → response start". `--bare` adds a bare FastAPI app with
a POST route that reads the body and answers fixed bytes: HTTP's own floor for this request.

Sequential keep-alive POSTs of bench/load_predict.py's 280×280 PNG (JSON + base64, model
`accurate`), alternating blocks between the servers; per segment the p50 (ms), then the total's
p50/p99 and each server's CPU time per request (from /proc: all its threads).

    python bench/predict_timeline.py [--repo PATH ...] [--bare] [--requests 1000] [--block 100]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_predict import digit_png
from serving import REPO, free_port

TIMED_SERVE = r"""
import json, sys, time
from app.main import serve

stamp, stamps, records = time.perf_counter, {}, []
if sys.argv[1] == "bare":
    from fastapi import FastAPI, Request, Response

    inner = FastAPI()
    FIXED = json.dumps({"digit": 7, "probabilities": [0.1] * 10}).encode()

    @inner.post("/api/predict")
    async def predict(request: Request) -> Response:
        await request.body()
        return Response(FIXED, media_type="application/json")

    @inner.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}
else:
    import app.api.heavy as heavy
    from app.main import create_app

    run = heavy.WorkGate.run

    async def timed_run(self, work, *args):
        stamps["pool in"] = stamp()

        def timed(*a):
            stamps["thread start"], cpu = stamp(), time.thread_time()
            try:
                return work(*a)
            finally:
                stamps["thread end"], stamps["cpu"] = stamp(), time.thread_time() - cpu

        try:
            return await run(self, timed, *args)
        finally:
            stamps["pool out"] = stamp()

    heavy.WorkGate.run = timed_run
    inner = create_app()


async def app(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == "/__timeline":
        body = json.dumps(records).encode()
        records.clear()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        return
    if scope["type"] != "http" or scope["path"] != "/api/predict":
        await inner(scope, receive, send)
        return
    stamps.clear()
    stamps["app called"] = stamp()

    async def timed_receive():
        message = await receive()
        stamps.setdefault("body read", stamp())
        return message

    async def timed_send(message):
        if message["type"] == "http.response.start":
            stamps["response start"] = stamp()
        await send(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            stamps["response sent"] = stamp()

    await inner(scope, timed_receive, timed_send)
    records.append(dict(stamps))

serve(app, "127.0.0.1", int(sys.argv[2]), log_level="warning")
"""

SERVER_STAMPS = ["app called", "body read", "pool in", "thread start", "thread end", "pool out",
                 "response start", "response sent"]  # fmt: skip


class Server:
    def __init__(self, label: str, repo: Path | None, data_dir: Path) -> None:
        self.label, self.port = label, free_port()
        env = {**os.environ, "NNP_DATA_DIR": str(data_dir), "PYTHONPATH": str(repo or REPO)}
        env.setdefault("NNP_MNIST_DIR", str(REPO.parent / "shared" / "datasets" / "mnist"))
        kind = "bare" if repo is None else "ours"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", TIMED_SERVE, kind, str(self.port)], env=env, cwd=repo or REPO
        )
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.get("/healthz")
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server of {label} did not start") from None
                self.conn.close()
                time.sleep(0.1)
        self.client: list[tuple[float, float, float]] = []
        self.cpu = 0.0

    def get(self, path: str) -> bytes:
        """GET `path`; a connection the server closed (after 5 idle seconds) is reopened."""
        try:
            self.conn.request("GET", path)
            return self.conn.getresponse().read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.conn.close()
            self.conn.request("GET", path)
            return self.conn.getresponse().read()

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def predict(self, body: bytes) -> tuple[float, float, float]:
        began = time.perf_counter()
        self.conn.request("POST", "/api/predict", body, {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        headers = time.perf_counter()
        data = response.read()
        done = time.perf_counter()
        if response.status != 200:
            raise RuntimeError(f"{self.label}: {response.status} {data[:200]!r}")
        return began, headers, done

    def block(self, body: bytes, n: int) -> None:
        self.get("/healthz")  # a connection idle for 5 s was closed: reopened here
        cpu = self.cpu_seconds()
        self.client += [self.predict(body) for _ in range(n)]
        self.cpu += self.cpu_seconds() - cpu

    def close(self) -> None:
        self.conn.close()
        self.proc.terminate()
        self.proc.wait(10)


def segments(server: Server, records: list[dict[str, float]]) -> tuple[list[str], np.ndarray]:
    names, rows = [], []
    for (began, headers, done), stamps in zip(server.client, records, strict=True):
        points = [("client sent", began)]
        for key in SERVER_STAMPS:  # a stamp that was not taken (no pool) adds 0
            points.append((key, stamps.get(key, points[-1][1])))
        points += [("client got headers", headers), ("client got body", done)]
        rows.append([b - a for (_, a), (_, b) in itertools.pairwise(points)]
                    + [stamps.get("cpu", 0.0), done - began])  # fmt: skip
        names = [f"{a} → {b}" for (a, _), (b, _) in itertools.pairwise(points)]
    return [*names, "pool thread's CPU time", "TOTAL"], np.array(rows) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, action="append", help="a checkout (repeatable)")
    parser.add_argument("--bare", action="store_true", help="add a bare FastAPI app")
    parser.add_argument("--requests", type=int, default=1000, help="per server")
    parser.add_argument("--block", type=int, default=100)
    args = parser.parse_args()
    repos: list[Path | None] = [r.resolve() for r in args.repo or [REPO]]
    repos += [None] if args.bare else []
    png = digit_png()
    body = json.dumps({"image": base64.b64encode(png).decode(), "model": "accurate"}).encode()
    loads = os.getloadavg()
    servers: list[Server] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for i, repo in enumerate(repos):
                label = "bare FastAPI" if repo is None else (repo.name or str(repo))
                servers.append(Server(f"{label}", repo, Path(tmp) / str(i)))
            for server in servers:  # warm-up, then forget its records
                server.block(body, 100)
                server.get("/__timeline")
                server.client, server.cpu = [], 0.0
            for _ in range(max(1, args.requests // args.block)):
                for server in servers:
                    server.block(body, args.block)
            tables = [segments(s, json.loads(s.get("/__timeline"))) for s in servers]
        finally:
            for server in servers:
                server.close()
    print(f"POST /api/predict ({len(png):,} B PNG, JSON), sequential keep-alive, p50 in ms;"
          f" load average {loads[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")  # fmt: skip
    print(f"  {'':<40}" + "".join(f"{s.label[:16]:>17}" for s in servers))
    names = tables[0][0]
    for i, name in enumerate(names):
        print(f"  {name:<40}" + "".join(f"{np.median(t[:, i]):17.3f}" for _, t in tables))
    for q in (10, 25, 75, 90, 99):  # the total's spread (a p50 alone hides two modes)
        row = "".join(f"{np.percentile(t[:, -1], q):17.3f}" for _, t in tables)
        print(f"  {f'TOTAL p{q}':<40}{row}")
    cpu = [s.cpu / len(s.client) * 1000 for s in servers]
    print(f"  {'server CPU time per request':<40}" + "".join(f"{c:17.3f}" for c in cpu))


if __name__ == "__main__":
    main()

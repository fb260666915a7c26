"""The full-disk scenario of issue 18, item 2, against a real server on 127.0.0.1.

The data directory is a tmpfs of `--sizes` (default 5 MB and 50 MB; mounting needs root).
On each: runs train while models are uploaded until the disk is full; the finished runs are
saved as models; new runs and uploads are tried on the full disk; half the models are deleted;
the disk is filled to the last byte by another writer; the server is restarted on the full
disk; then everything is checked against what the server acknowledged.

Counted: answers by class (507 Insufficient Storage is the wanted answer to a write the disk
can't take; any other 5xx is a failure), connections reset, and lost results: an upload or
save answered 201 that is not listed after the restart, a delete answered 204 whose model is
back, a run whose status after the restart differs from the one it ended with, a run that
ended `finished` without weights, a server that does not start or predict. Bars: 0 × 5xx
other than 507, 0 lost results, on both sizes.

    sudo python bench/full_disk.py [--sizes 5m 50m]
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.nn.network import Network  # noqa: E402
from app.nn.serialize import model_to_bytes  # noqa: E402
from tests.store.live import Server, fill_disk, wait_for  # noqa: E402

MNIST = Path(os.environ.get("NNP_MNIST_DIR", REPO.parent / "shared" / "datasets" / "mnist"))
RUN = {"preset": "3b1b", "epochs": 3, "train_subset": 2000, "validation_size": 500}
LIVE = ("queued", "running", "paused")


@dataclass
class Tally:
    answers: collections.Counter[str] = field(default_factory=collections.Counter)
    resets: int = 0
    lost: list[str] = field(default_factory=list)

    def record(self, r: httpx.Response) -> httpx.Response:
        code = r.status_code
        self.answers["507" if code == 507 else f"{code // 100}xx"] += 1
        if code >= 500 and code != 507:
            print(f"  {r.request.method} {r.request.url.path} → {code}: {r.text[:200]}")
        return r


class Client:
    """A keep-alive client that counts every answer, and every connection the server reset."""

    def __init__(self, server: Server, tally: Tally) -> None:
        self.server, self.tally = server, tally
        self.http = httpx.Client(timeout=60)

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        try:
            r = self.http.request(method, f"{self.server.url}{path}", **kwargs)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            self.tally.resets += 1
            print(f"  {method} {path}: connection reset ({exc})")
            return None
        if r.headers.get("connection", "").lower() == "close":
            self.tally.resets += 1
        return self.tally.record(r)


def model_bytes(disk_bytes: int, seed: int) -> bytes:
    hidden = max(16, min(1024, disk_bytes // 12 // (795 * 4)))  # ~1/12 of the disk each
    return model_to_bytes(Network([784, hidden, 10], seed=seed), {})


def mount(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)


def scenario(size: str) -> Tally:
    tally = Tally()
    disk = Path(tempfile.mkdtemp(prefix="nnp-full-disk-"))
    mount(disk, size)
    try:
        with Server(disk / "data", MNIST) as server:
            steps(server, disk, Client(server, tally), tally)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
    return tally


def steps(server: Server, disk: Path, call: Client, tally: Tally) -> None:
    total = os.statvfs(disk).f_blocks * os.statvfs(disk).f_frsize
    runs = [r.json()["id"] for r in (call("POST", "/api/runs", json=RUN) for _ in range(2)) if r]
    uploads: set[str] = set()
    for seed in range(200):  # until the disk (or the upload quota) is full
        r = call("POST", "/api/models", files={"file": ("m.npz", model_bytes(total, seed))})
        if r is None or r.status_code != 201:
            break
        uploads.add(r.json()["id"])
    ended = wait_runs(call, runs)
    saved = set()
    for run_id in ended:
        r = call("POST", f"/api/runs/{run_id}/save", json={})
        if r is not None and r.status_code == 201:
            saved.add(r.json()["id"])
    fill_disk(disk)  # another writer takes the last byte
    more = [
        r.json()["id"] for r in (call("POST", "/api/runs", json=RUN),) if r and r.status_code == 201
    ]
    ended |= wait_runs(call, more)
    call("POST", "/api/models", files={"file": ("m.npz", model_bytes(total, 999))})
    print(f"  {len(uploads)} uploads and {len(saved)} saves taken; runs ended "
          f"{sorted(ended.values())} (the last one started on the full disk, if it was taken)")  # fmt: skip
    deleted = set(sorted(uploads)[: len(uploads) // 2])
    for model_id in deleted:
        r = call("DELETE", f"/api/models/{model_id}")
        if r is None or r.status_code != 204:
            tally.lost.append(f"delete of {model_id} answered {r and r.status_code}")
    fill_disk(disk, "filler2")
    server.stop()
    try:
        server.start()
    except AssertionError as exc:
        tally.lost.append(f"the server did not start on the full disk: {exc}")
        return
    check(call, tally, (uploads - deleted) | saved, deleted, ended)


def wait_runs(call: Client, runs: list[str]) -> dict[str, str]:
    """Each run's final status, once all have ended."""

    def status(run_id: str) -> str:
        r = call("GET", f"/api/runs/{run_id}")
        return r.json()["status"] if r is not None and r.status_code == 200 else "?"

    wait_for(lambda: all(status(run_id) not in LIVE for run_id in runs), timeout=600, interval=0.5)
    return {run_id: status(run_id) for run_id in runs}


def check(call: Client, tally: Tally, kept: set[str], deleted: set[str],
          ended: dict[str, str]) -> None:  # fmt: skip
    r = call("POST", "/api/predict", json={"pixels": [0.5] * 784})
    if r is None or r.status_code != 200:
        tally.lost.append("no prediction after the restart")
    r = call("GET", "/api/models")
    listed = {m["id"]: m for m in r.json()["models"]} if r is not None else {}
    tally.lost += [f"model {i} acknowledged, then missing" for i in kept - set(listed)]
    tally.lost += [
        f"model {i} broken after the restart" for i in kept if listed.get(i, {}).get("broken")
    ]
    tally.lost += [f"model {i} deleted, then back" for i in deleted & set(listed)]
    for run_id, status in ended.items():
        r = call("GET", f"/api/runs/{run_id}")
        after = r.json()["status"] if r is not None and r.status_code == 200 else "?"
        if after != status:
            tally.lost.append(f"run {run_id} ended {status}, is {after} after the restart")
        if status == "finished":
            weights = call("GET", f"/api/runs/{run_id}/network")
            if weights is None or weights.status_code != 200:
                tally.lost.append(f"run {run_id} finished without its weights")
    print(
        f"  models kept {len(kept)}, deleted {len(deleted)}, runs {dict(collections.Counter(ended.values()))}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["5m", "50m"])
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root: it mounts a tmpfs (a real disk that fills up)")
        return 2
    failed = False
    for size in args.sizes:
        print(f"== data directory on a {size} tmpfs")
        started = time.monotonic()
        tally = scenario(size)
        other_5xx = sum(n for k, n in tally.answers.items() if k == "5xx")
        for line in tally.lost:
            print(f"  LOST: {line}")
        print(f"  answers {dict(sorted(tally.answers.items()))}, connections reset "
              f"{tally.resets}, in {time.monotonic() - started:.0f} s")  # fmt: skip
        print(f"  5xx other than 507: {other_5xx} (bar: 0); lost results: {len(tally.lost)} "
              f"(bar: 0)")  # fmt: skip
        failed |= bool(other_5xx or tally.lost or tally.resets)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

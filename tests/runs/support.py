"""Helpers for the tests of app/runs (and the Ray cluster's tests): polling, a real server."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    """Poll `predicate` until it is truthy (its value), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"condition not met in time: {what}"
        time.sleep(0.01)
    return value


# ---- a real server process ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (None once the process is gone):
    [0] state, [1] parent pid, [11] utime, [12] stime, [16] nice."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(entry.name)) and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def descendants_of(pid: int) -> set[int]:
    """Its children, their children, and so on (the local workers are the children of the
    server's forkserver)."""
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        children = children_of(frontier.pop())
        found.update(children)
        frontier.extend(children)
    return found


def parent_of(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[1]) if fields else None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (0 once it is gone)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def nice_of(pid: int) -> int | None:
    """The process's nice value (None once it is gone)."""
    fields = _stat(pid)
    return int(fields[16]) if fields else None


def running(pid: int) -> bool:
    """A process that exists and is not a zombie (its parent not having reaped it yet)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def serve(
    data_dir: Path, mnist_dir: Path, port: int, ray_address: str | None = None
) -> subprocess.Popen[bytes]:
    """`nn-playground serve` on 127.0.0.1:port (two slots; the Ray cluster when given)."""
    env = {
        **os.environ,
        **({"NNP_RAY_ADDRESS": ray_address} if ray_address else {}),
        "NNP_DATA_DIR": str(data_dir),
        "NNP_MNIST_DIR": str(mnist_dir),
        "NNP_MNIST_DOWNLOAD": "false",
        "NNP_MAX_RUNS": "2",
        "PYTHONPATH": str(REPO),
    }
    # What the nn-playground console script runs.
    command = "import sys; from app.cli import main; sys.exit(main())"
    return subprocess.Popen(
        [sys.executable, "-c", command, "serve", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def served(
    data_dir: Path, mnist_dir: Path, ray_address: str | None = None, port: int | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A started `serve` (see serve), answering: (its URL, its process); killed at the end
    unless the test has killed it already."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    proc = serve(data_dir, mnist_dir, port, ray_address)
    try:
        wait_up(url, proc)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    def up() -> bool:
        assert proc.poll() is None, "the server exited"
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=60, what="the server to answer")

"""Helpers for the tests of app/runs (and the Ray cluster's tests): polling, a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
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


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nice_of(pid: int) -> int | None:
    """The process's nice value (None once it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
    except OSError:
        return None


def running(pid: int) -> bool:
    """A process that exists and is not a zombie (its parent not having reaped it yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


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


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    def up() -> bool:
        assert proc.poll() is None, "the server exited"
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=60, what="the server to answer")

"""A real two-node Ray cluster for the tests, in a network namespace of its own.

Outside a namespace Ray binds to the machine's network address; inside one that has only `lo`
up it binds 127.0.0.1, so the cluster, the server and the tests that talk to them all run in
the namespace (`ip netns exec`). Each node is a `ray start` with one CPU (one run each).
Everything the cluster started is killed at the end by killing every process of the namespace.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RAY_PORT = 6379
# Every node of the test cluster: one CPU, a small object store (weights are ~50 kB).
# A "1" for POST /api/predict: a vertical stroke down the middle (a blank drawing is a 422).
ONE = {"pixels": [1.0 if 6 <= i // 28 <= 21 and 13 <= i % 28 <= 14 else 0.0 for i in range(784)]}
NODE_OPTIONS = ["--num-cpus=1", "--object-store-memory=150000000", "--disable-usage-stats"]


def ray_command() -> str:
    """`ray` of this interpreter's environment (the one with the [ray] extra)."""
    found = Path(sys.executable).with_name("ray")
    if found.exists():
        return str(found)
    located = shutil.which("ray")
    assert located, 'the Ray tests need the [ray] extra: pip install -e ".[test,ray]"'
    return located


def raylets() -> dict[str, dict[str, object]]:
    """Every raylet process of this machine: {node_id: {"pid": …, "head": …}}."""
    found: dict[str, dict[str, object]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not args or not args[0].endswith(b"/raylet"):
            continue
        options = [a.decode() for a in args[1:]]
        node = next((a.split("=", 1)[1] for a in options if a.startswith("--node_id=")), None)
        if node:
            found[node] = {"pid": int(entry.name), "head": "--head" in options}
    return found


class RayCluster:
    """`with RayCluster() as cluster:` a head and one more node, in namespace `cluster.name`."""

    def __init__(self) -> None:
        self.name = f"nnp-test-{os.getpid()}-{os.urandom(2).hex()}"
        # Short: Ray's Unix sockets live under it, and their paths may not exceed 107 bytes.
        self.temp_dir = tempfile.mkdtemp(prefix="nnp-ray-", dir="/tmp")
        self.address = f"127.0.0.1:{RAY_PORT}"
        # Its workers find MNIST where each run's job says, or download it (NNP_MNIST_DIR, the
        # environment's default place, is not theirs: tests/api/test_first_download.py).
        self.env = {k: v for k, v in os.environ.items() if k != "NNP_MNIST_DIR"}
        self.env["RAY_USAGE_STATS_ENABLED"] = "0"
        # No token authentication inside the test's own namespace, whatever ~/.ray holds (a
        # token file there, left by any local `ray.init()`, would switch it on for the head).
        self.env["RAY_AUTH_MODE"] = "disabled"
        self.worker_node: str | None = None  # the node that is not the head

    def __enter__(self) -> RayCluster:
        try:
            self._ip("netns", "add", self.name)
        except subprocess.CalledProcessError as error:
            raise AssertionError(
                f"the Ray tests need a network namespace (root and iproute2): {error.stderr}"
            ) from None
        try:
            self._ip("netns", "exec", self.name, "ip", "link", "set", "lo", "up")
            before = set(raylets())
            self._ray_start("--head", f"--port={RAY_PORT}", "--include-dashboard=false")
            head = set(raylets()) - before
            self._ray_start(f"--address={self.address}")
            (self.worker_node,) = set(raylets()) - before - head
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        pids = subprocess.run(
            ["ip", "netns", "pids", self.name], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def run(
        self, args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 1800
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace; its output is returned, not shown."""
        return subprocess.run(
            ["ip", "netns", "exec", self.name, *args],
            env={**self.env, **(env or {})},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _ray_start(self, *options: str) -> None:
        done = self.run(
            [ray_command(), "start", *options, *NODE_OPTIONS, f"--temp-dir={self.temp_dir}"],
            timeout=120,
        )
        assert done.returncode == 0, f"ray start {' '.join(options)} failed:\n{done.stderr}"

    @staticmethod
    def _ip(*args: str) -> None:
        subprocess.run(["ip", *args], capture_output=True, text=True, check=True)

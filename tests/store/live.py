"""Real servers and real small file systems for the store's fault tests (a module, not
fixtures, so tests and bench scripts can share it)."""

from __future__ import annotations

import contextlib
import errno
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.api.api_support import wait_for

REPO = Path(__file__).resolve().parents[2]
SERVE = """
import sys, uvicorn
from app.main import create_app
uvicorn.run(create_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""
TMPFS_REASON = "needs root to mount a small tmpfs (a real full disk); CI runs as root"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (e.g. "5m") mounted at `path`: a real disk that fills up. Skips the
    test when it can't be mounted (not root), unless NNP_REQUIRE_TMPFS=1 (CI runs as root)."""
    import pytest

    path.mkdir(parents=True, exist_ok=True)
    mount = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)]
    done = subprocess.run(mount, capture_output=True, text=True) if can_mount() else None
    if done is None or done.returncode != 0:
        why = TMPFS_REASON if done is None else f"mount failed: {done.stderr.strip()}"
        if os.environ.get("NNP_REQUIRE_TMPFS") == "1":
            pytest.fail(why)
        pytest.skip(why)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill_disk(directory: Path, name: str = "filler") -> Path:
    """Write to `directory/<name>` until the file system answers ENOSPC; the file stays."""
    path = directory / name
    chunk = b"\1" * 65536
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, chunk[:size])
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return path


class Server:
    """`python -c SERVE` on a free port of 127.0.0.1 with NNP_DATA_DIR = `data_dir`."""

    def __init__(self, data_dir: Path, mnist_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "NNP_DATA_DIR": str(data_dir),
            "NNP_MNIST_DIR": str(mnist_dir),
            "NNP_MNIST_DOWNLOAD": "false",
            "PYTHONPATH": str(REPO),
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by __exit__)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Server:
        """Start (again on the same port, so URLs stay valid across restarts)."""
        self.port = self.port or free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(self.port)],
            env=self.env,
            cwd=REPO,
            stdout=self.log,
            stderr=self.log,
        )
        wait_for(self._up, timeout=timeout, interval=0.05)
        return self

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"the server exited ({self.proc.returncode}):\n{self.output()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        """SIGTERM (a clean shutdown), SIGKILL if it takes over 20 s."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()
        self.log.close()


def multipart(data: bytes, filename: str = "model.npz") -> tuple[bytes, dict[str, str]]:
    """The body and headers of a POST /api/models with `data` as its file."""
    request = httpx.Request("POST", "http://127.0.0.1/api/models", files={"file": (filename, data)})
    body = request.read()
    return body, {"Content-Type": request.headers["Content-Type"]}


class KeepAlive:
    """One HTTP/1.1 connection that is never reopened: a request after the server closed it
    raises, so a test sees a reset connection (httpx would quietly reconnect)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.connect()
        self.sock = self.conn.sock

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes, dict[str, str]]:
        self.conn.request(method, path, body=body, headers=headers or {})
        response = self.conn.getresponse()
        content = response.read()
        if self.conn.sock is not self.sock:
            raise AssertionError("the server closed the keep-alive connection")
        return response.status, content, dict(response.getheaders())

    def close(self) -> None:
        self.conn.close()

"""The benches' one way to start a real server: `app.main.serve` (the uvicorn settings of
`nn-playground serve`) in a subprocess on a free port, with a fresh data dir.

    with server(Path(tmp)) as (url, pid): ...              # our app, create_app()
    with server(Path(tmp), app="bare") as (url, pid): ...  # a bare FastAPI app: GET /healthz

`app="bare"` is the yardstick of bench/http_overhead.py: one trivial `/healthz` route served by
the same uvicorn settings, so the difference is our app's own cost per request.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

REPO = Path(__file__).resolve().parents[1]
AppKind = Literal["ours", "bare"]

SERVE = """
import sys
from app.main import serve

if sys.argv[1] == "bare":
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}
else:
    from app.main import create_app

    app = create_app()
serve(app, "127.0.0.1", int(sys.argv[2]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@contextlib.contextmanager
def server(
    data_dir: Path, *, app: AppKind = "ours", start_timeout: float = 60.0, **env: str
) -> Iterator[tuple[str, int]]:
    """A real server of `app` in a subprocess; yields (base URL, pid) once `/healthz` answers
    200, and stops it afterwards (SIGTERM, then SIGKILL after 10 s). `env`: extra variables
    (NNP_* settings) for the server."""
    port = free_port()
    environ = {**os.environ, "NNP_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO), **env}
    environ.setdefault("NNP_MNIST_DIR", str(REPO.parent / "shared" / "datasets" / "mnist"))
    proc = subprocess.Popen([sys.executable, "-c", SERVE, app, str(port)], env=environ, cwd=REPO)
    try:
        deadline = time.monotonic() + start_timeout
        while not _healthy(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {app} server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()

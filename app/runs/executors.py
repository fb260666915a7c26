"""The executors by name: the one place that knows the implementations of app/runs/executor.py's
interface (each is imported only when chosen: the `ray` one needs the optional [ray] extra)."""

from __future__ import annotations

from app.runs.executor import EXECUTORS, Executor, ExecutorName


def make_executor(name: ExecutorName, ray_address: str | None = None) -> Executor:
    """The executor called `name`; `ray_address` is the Ray cluster's HOST:PORT (None: the
    cluster `ray start` started on this machine)."""
    if name == "local":
        from app.runs.local import LocalExecutor

        return LocalExecutor()
    if name == "ray":
        from app.runs.ray_executor import RayExecutor

        return RayExecutor(ray_address)
    raise ValueError(f"unknown executor {name!r}: choose {', '.join(EXECUTORS)}")

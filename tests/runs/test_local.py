"""The local executor's worker processes: where they come from and what runs in them."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from app.nn.config import TrainConfig
from app.nn.protocol import MetricsEvent, Stop
from app.runs.executor import DataSource, Ended, Job, WorkerMessage
from app.runs.local import LocalExecutor

from .support import parent_of, wait_for

LONG = TrainConfig(epochs=100, validation_size=500, layers=[16])


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def test_workers_are_forked_by_one_forkserver_and_train_on_one_thread(
    tmp_path: Path, mnist_dir: Path
) -> None:
    executor = LocalExecutor()
    data = DataSource(mnist_dir, tmp_path / "cache", download=False)
    seen: dict[str, list[WorkerMessage]] = {"a": [], "b": []}
    ended = {name: threading.Event() for name in seen}

    def collect(name: str):
        def on_message(message: WorkerMessage) -> None:
            seen[name].append(message)
            if isinstance(message, Ended):
                ended[name].set()

        return on_message

    handles = {name: executor.start(Job(f"r_{name}", LONG, data), collect(name)) for name in seen}
    try:
        for name in seen:  # both train
            wait_for(lambda name=name: any(isinstance(m, MetricsEvent) for m in seen[name]))
        pids = [handles[name].pid for name in seen]
        assert all(pid is not None for pid in pids)
        # Not children of this (threaded) process, nor spawned interpreters of their own: both
        # are forks of one forkserver, which this process started.
        parents = {parent_of(pid) for pid in pids}  # type: ignore[arg-type]
        assert len(parents) == 1
        (forkserver,) = parents
        assert forkserver != os.getpid() and parent_of(forkserver) == os.getpid()  # type: ignore[arg-type]
        # Two threads each: training and the pipe's commands; no BLAS thread pool.
        assert [_threads(pid) for pid in pids] == [2, 2]  # type: ignore[arg-type]
    finally:
        for handle in handles.values():
            handle.send(Stop())
        for name in seen:
            assert ended[name].wait(30), f"run {name} did not end"
    assert {m.status for name in seen for m in seen[name] if isinstance(m, Ended)} == {"stopped"}

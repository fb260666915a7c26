"""Faults and the queue on the executor under test (real worker processes or Ray actors, real
MNIST): a killed worker, a killed server, more runs than slots."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.nn.serialize import load_model
from app.runs.manager import TooManyRuns
from app.runs.run import Run

from .support import descendants_of, free_port, running, served, wait_for

SHORT = {"epochs": 1, "train_subset": 1500, "validation_size": 500, "layers": [16]}
LONG = {"epochs": 100, "validation_size": 500, "layers": [16]}


# What a run's reason says after `kill -9` of its worker, on each executor.
KILLED_SAYS = {
    "local": "the worker process died (killed by SIGKILL)",
    "ray": "its Ray worker died",
}


def worker_pid(run: Run) -> int:
    """The process that trains `run` (on this machine: the test cluster's nodes are local)."""
    placement = wait_for(lambda: run.handle is not None and run.handle.placement())
    assert placement.pid is not None and placement.pid != os.getpid()
    return placement.pid


def test_a_killed_worker_fails_its_run_and_the_others_carry_on(
    make_manager, executor_name: str
) -> None:
    manager = make_manager(max_runs=2)
    victim, survivor = manager.create(None, LONG), manager.create(None, LONG)
    for run in (victim, survivor):
        wait_for(lambda run=run: run.status == "running" and run.steps, what="both training")
    # After its first epoch a run has a checkpoint on disk.
    wait_for(lambda: victim.evaluations, what="a first epoch")
    checkpoint = manager.runs_dir / f"{victim.id}.npz"
    wait_for(checkpoint.exists, what="the first checkpoint")
    os.kill(worker_pid(victim), signal.SIGKILL)
    wait_for(lambda: victim.status == "failed", what="the victim's failure")
    assert KILLED_SAYS[executor_name] in victim.reason, victim.reason
    # Its weights are not lost: the last checkpoint is what save and /network use.
    network, metadata = load_model(checkpoint)
    assert metadata["checkpoint"] is True and metadata["step"] >= victim.steps[0]
    assert np.array_equal(manager.network(victim.id).params, network.params)
    probe = victim.probe(np.zeros((1, 784), np.float32))  # what a watcher's drawing gets
    assert probe is not None and probe.step == metadata["step"]
    assert network.sizes == [784, 16, 10]
    (stored,) = [s for s in manager.store.load_runs() if s.id == victim.id]
    assert stored.status == "failed" and stored.reason == victim.reason
    # The other run still trains (its step moves on) and obeys.
    step = survivor.current_step()
    wait_for(lambda: survivor.current_step() > step, what="the survivor's progress")
    assert survivor.status == "running"
    assert manager.pause(survivor.id).status == "paused"
    assert manager.stop(survivor.id).status == "stopped"
    # The freed slots take new runs.
    again = manager.create(None, SHORT)
    wait_for(lambda: again.status == "finished", what="a run after the kill")


def test_more_runs_than_slots_queue_and_all_finish(make_manager) -> None:
    manager = make_manager(max_runs=2, max_queued=4)
    runs = [manager.create(None, SHORT) for _ in range(6)]
    with pytest.raises(TooManyRuns):
        manager.create(None, SHORT)  # 2 training + 4 waiting: the queue is full
    assert [r.queue_position for r in runs] == [None, None, 1, 2, 3, 4]
    assert all(r.status == "queued" for r in runs[2:])
    cancelled = runs[3]
    assert manager.stop(cancelled.id).status == "stopped"
    assert cancelled.queue_position is None and cancelled.handle is None
    positions: dict[str, list[int]] = {r.id: [] for r in runs}

    def everything_ended() -> bool:
        for run in runs:
            position = run.queue_position
            if position is not None and positions[run.id][-1:] != [position]:
                positions[run.id].append(position)
        return all(not run.live for run in runs)

    wait_for(everything_ended, timeout=180, what="every run to end")
    assert cancelled.status == "stopped" and not cancelled.steps
    for run in runs:
        if run is not cancelled:
            assert run.status == "finished", (run.id, run.status, run.reason)
            # Nothing lost: every mini-batch of 1500 images in batches of 32 is in the history.
            assert run.steps[-1] == run.progress()["step"] == 47
            assert len(run.evaluations) == 1
        assert positions[run.id] == sorted(positions[run.id], reverse=True), positions
    assert all(positions[r.id] for r in runs[4:])  # the later ones waited, moving up


# ---- the server process ----------------------------------------------------------------------


def test_no_worker_outlives_a_killed_server(
    tmp_path: Path, mnist_dir: Path, executor_name: str, ray_address: str | None
) -> None:
    port = free_port()
    with served(tmp_path / "data", mnist_dir, ray_address, port) as (url, proc):
        ids = [httpx.post(f"{url}/api/runs", json=LONG).json()["id"] for _ in range(2)]
        for run_id in ids:
            wait_for(
                lambda run_id=run_id: httpx.get(f"{url}/api/runs/{run_id}").json()["history"][
                    "evaluations"
                ],
                what="the runs to train an epoch (and checkpoint it)",
            )
        placements = [httpx.get(f"{url}/api/runs/{i}").json()["placement"] for i in ids]
        assert {p["executor"] for p in placements} == {executor_name}
        workers = [p["pid"] for p in placements]
        assert all(running(pid) for pid in workers)
        if executor_name == "local":  # its own processes; Ray's workers are the raylets'
            assert set(workers) <= descendants_of(proc.pid)
        proc.kill()
        proc.wait(10)
        began = time.monotonic()
        wait_for(lambda: not any(running(pid) for pid in workers), timeout=10, what="orphans")
        assert time.monotonic() - began < 5.0
    # On restart, the runs it was training show `interrupted`.
    with served(tmp_path / "data", mnist_dir, ray_address, port) as (url, _):
        for run_id in ids:
            info = httpx.get(f"{url}/api/runs/{run_id}").json()
            assert info["status"] == "interrupted" and info["reason"]
            # ...and can still be saved as a model, from their last checkpoint.
            r = httpx.post(f"{url}/api/runs/{run_id}/save", json={"name": run_id})
            assert r.status_code == 201 and r.json()["source_run"] == run_id

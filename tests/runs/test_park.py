"""A paused run gives its slot back after NNP_PAUSED_SLOT_SECONDS and resumes from its
checkpoint; interrupted and failed runs resume from theirs. Real worker processes, real MNIST.

The config trains with plain SGD and no augmentation, so a run has no state besides its weights
and its step: one that was cut short and resumed must end with exactly the weights of one that
never stopped."""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.nn.serialize import load_model
from app.runs.manager import RunManager, RunStateError
from app.runs.run import Run

from .support import wait_for

# 10 steps an epoch, 3 epochs: 30 steps.
CONFIG = {
    "optimizer": "sgd", "learning_rate": 0.5, "lr_schedule": "constant", "epochs": 3,
    "train_subset": 320, "batch_size": 32, "validation_size": 500, "layers": [16],
    "report_every": 1,
}  # fmt: skip
TOTAL_STEPS = 30
SLOW = 40.0  # mini-batches a second: slow enough to pause or kill a run mid-way


def _final_params(manager: RunManager, run: Run) -> np.ndarray:
    wait_for(lambda: run.status == "finished")
    assert run.progress()["step"] == TOTAL_STEPS
    return manager.network(run.id).params.copy()


def _checkpoint(manager: RunManager, run: Run) -> tuple[np.ndarray, int]:
    network, metadata = load_model(manager.runs_dir / f"{run.id}.npz")
    return network.params.copy(), int(metadata["step"])


def test_a_paused_run_gives_its_slot_back_and_continues_from_its_checkpoint(make_manager) -> None:
    manager = make_manager(max_runs=1, paused_slot_seconds=0.5)
    expected = _final_params(manager, manager.create(None, CONFIG))  # never interrupted

    run = manager.create(None, CONFIG)
    manager.set_speed(run.id, SLOW)
    wait_for(lambda: run.status == "running" and 3 <= run.current_step() < 15)
    manager.pause(run.id)
    assert run.status == "paused"
    paused_at = run.current_step()
    worker = run.handle
    assert worker is not None
    wait_for(lambda: run.parked and run.handle is None, timeout=15)
    assert run.status == "paused" and run.info(history=False)["parked"] is True
    assert worker.join(5) and not worker.alive()  # its worker exited
    params, step = _checkpoint(manager, run)
    assert step == paused_at
    assert np.array_equal(manager.network(run.id).params, params)  # answers from the checkpoint

    other = manager.create(None, {**CONFIG, "epochs": 100})  # the slot is free again
    assert other.queue_position is None and other.handle is not None  # started at once
    wait_for(lambda: other.status == "running")
    assert manager.resume(run.id).status == "queued"  # every slot is busy: it waits
    assert run.queue_position == 1
    manager.stop(other.id)
    assert np.array_equal(_final_params(manager, run), expected)
    resumed = [s for s in run.steps if s > paused_at]
    assert resumed == list(range(paused_at + 1, TOTAL_STEPS + 1))  # no step twice, none lost
    assert [e["epoch"] for e in run.evaluations] == [1, 2, 3]


def test_failed_and_interrupted_runs_resume_from_their_last_checkpoint(make_manager) -> None:
    manager = make_manager(max_runs=1, paused_slot_seconds=0.5)
    expected = _final_params(manager, manager.create(None, CONFIG))

    run = manager.create(None, CONFIG)
    # Slower than SLOW: the kill must land within the next epoch (here a second, not a quarter
    # of one), however long the kill takes to travel (on Ray: the bridge, then Ray).
    manager.set_speed(run.id, SLOW / 4)
    wait_for(lambda: run.evaluations and run.current_step() > 10)  # checkpointed after epoch 1
    assert run.handle is not None
    run.handle.kill()
    wait_for(lambda: run.status == "failed")
    _, step = _checkpoint(manager, run)
    assert step == 10
    assert manager.resume(run.id).status in ("queued", "downloading", "running")
    assert run.reason is None and run.finished is None
    assert np.array_equal(_final_params(manager, run), expected)
    with pytest.raises(RunStateError):
        manager.resume(run.id)  # finished: nothing to resume

    later = manager.create(None, CONFIG)
    manager.set_speed(later.id, SLOW)
    wait_for(lambda: later.evaluations and later.current_step() > 10)
    manager.shutdown()  # the server stops: the run is interrupted, its checkpoint kept
    restarted = make_manager(max_runs=1, paused_slot_seconds=0.5)
    again = restarted.get(later.id)
    assert again.status == "interrupted"
    restarted.resume(later.id)
    assert np.array_equal(_final_params(restarted, again), expected)


def test_a_run_without_a_checkpoint_cannot_resume(make_manager) -> None:
    manager = make_manager(max_runs=1, paused_slot_seconds=0.5)
    blocker = manager.create(None, {**CONFIG, "epochs": 100})
    queued = manager.create(None, CONFIG)
    manager.stop(queued.id)  # cancelled before it trained: stopped, no weights
    with pytest.raises(RunStateError):
        manager.resume(queued.id)
    manager.stop(blocker.id)


def test_a_run_shows_parked_only_once_its_slot_is_free(make_manager) -> None:
    """RunInfo.parked: "its worker ended ... and gave its training slot back". Watched without
    pause from the moment it is paused: whenever it reads parked, its slot is already free."""
    manager = make_manager(max_runs=1, paused_slot_seconds=0.3)
    run = manager.create(None, {**CONFIG, "epochs": 100})
    manager.set_speed(run.id, SLOW)
    wait_for(lambda: run.status == "running" and run.current_step() >= 3)
    manager.pause(run.id)
    deadline = time.monotonic() + 15
    while not run.parked:
        assert time.monotonic() < deadline, "the paused run was never parked"
    assert not manager.slots.holds(run) and run.handle is None
    other = manager.create(None, CONFIG)
    assert other.queue_position is None  # started at once: the slot was free
    manager.stop(other.id)
    manager.stop(run.id)

"""Parking claims the run before it writes the checkpoint (review #5): a resume that arrives
while a long-paused run's checkpoint is written must not be undone by the park's Stop (it left
the run "running", parked, with no worker)."""

from __future__ import annotations

import threading

from app.nn.network import Network
from app.nn.protocol import Resume, SnapshotWeights, Weights
from app.nn.trainer import TrainConfig
from app.runs.run import Run
from app.runs.slots import Slots

from .support import wait_for
from .test_park import CONFIG, SLOW


class FakeHandle:
    """A worker that answers SnapshotWeights and records the commands it is sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.weights = Weights.of(Network([4, 3], seed=0), step=7)

    def send(self, command: object) -> None:
        self.sent.append(type(command).__name__)

    def request(self, query: object, timeout: float) -> Weights:
        assert isinstance(query, SnapshotWeights)
        return self.weights

    def join(self, timeout: float) -> bool:
        return True


def _paused_run() -> tuple[Run, FakeHandle]:
    run = Run(id="r_1", config=TrainConfig(), created="now", status="paused")
    handle = FakeHandle()
    run.handle = handle  # type: ignore[assignment]
    return run, handle


def _slots(checkpoint) -> Slots:  # type: ignore[no-untyped-def]
    return Slots(
        None,  # type: ignore[arg-type]
        max_runs=1, max_queued=1, paused_slot_seconds=300,
        launch=lambda run: None, fail=lambda run, reason: None, checkpoint=checkpoint,
    )  # fmt: skip


def test_a_resume_during_the_checkpoint_waits_for_the_park() -> None:
    run, handle = _paused_run()

    def checkpoint(r: Run, weights: Weights) -> None:
        # Meanwhile POST /resume: RunManager.resume sends Resume to the worker unless the run
        # is parked or parking (then it resumes from the checkpoint once the worker has ended).
        if not (r.parked or r.parking):
            r.handle.send(Resume())  # type: ignore[union-attr]
            r.set_status("running")  # the worker's status event
            r.paused_since = None

    run.paused_since = since = 123.0
    _slots(checkpoint)._park(run, since)
    assert (run.status, run.parking, handle.sent) == ("paused", True, ["Stop"])


def test_a_failed_checkpoint_leaves_the_run_unclaimed() -> None:
    run, handle = _paused_run()

    def checkpoint(r: Run, weights: Weights) -> None:
        raise OSError("disk full")

    run.paused_since = since = 123.0
    _slots(checkpoint)._park(run, since)
    assert (run.status, run.parking, handle.sent) == ("paused", False, [])


def test_a_run_resumed_just_before_the_stop_is_not_stopped() -> None:
    run, handle = _paused_run()

    def checkpoint(r: Run, weights: Weights) -> None:
        r.set_status("running")  # a resume that slipped in before the claim took effect
        r.paused_since = None

    run.paused_since = since = 123.0
    _slots(checkpoint)._park(run, since)
    assert "Stop" not in handle.sent and not run.parking


def _timers() -> int:
    return sum(isinstance(t, threading.Timer) and t.is_alive() for t in threading.enumerate())


def test_steps_of_a_paused_run_leave_one_parking_timer() -> None:
    """Each pause and single step restarts the parking wait (review #13: every one started a
    300 s timer thread that was never cancelled: 10 steps a second, 3,000 threads)."""
    run, _ = _paused_run()
    slots = _slots(lambda r, w: None)
    before = _timers()
    for _ in range(50):
        slots.watch_pause(run)
    wait_for(lambda: _timers() - before <= 1, 5, "one timer")
    slots.free(run)  # the run ended: its timer goes too
    wait_for(lambda: _timers() - before <= 0, 5, "no timer")


def test_a_resume_while_the_checkpoint_is_written_trains_on(make_manager) -> None:  # type: ignore[no-untyped-def]
    """The same race with a real worker: the park's checkpoint write is held until the resume
    is under way; the run must end up training again (it was left "running", parked, with no
    worker)."""
    manager = make_manager(max_runs=1, paused_slot_seconds=0.3)
    writing, release = threading.Event(), threading.Event()
    write = manager.slots._checkpoint

    def slow_checkpoint(run: Run, weights: Weights) -> None:
        writing.set()
        release.wait(20)
        write(run, weights)

    manager.slots._checkpoint = slow_checkpoint
    run = manager.create(None, {**CONFIG, "epochs": 100})
    manager.set_speed(run.id, SLOW)
    wait_for(lambda: run.status == "running" and run.current_step() >= 3)
    manager.pause(run.id)
    wait_for(writing.is_set, 15, "the park's checkpoint")
    handle = run.handle
    joining = threading.Event()
    join = handle.join

    def watched_join(timeout: float) -> bool:
        joining.set()  # the resume waits for the parking worker to end
        return bool(join(timeout))

    handle.join = watched_join
    resume = threading.Thread(target=manager.resume, args=(run.id,))
    resume.start()
    # Either the resume waits for the park (fixed) or it reached the worker (the defect).
    wait_for(lambda: joining.is_set() or run.status == "running", 15, "the resume")
    release.set()
    resume.join(30)
    wait_for(lambda: run.status == "running" and run.handle is not None, 30, "training again")
    step = run.current_step()
    wait_for(lambda: run.current_step() > step, 30, "a step after the resume")
    manager.stop(run.id)

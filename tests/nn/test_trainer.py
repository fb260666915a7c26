"""The training loop on a small slice of real MNIST: learning, events, control, divergence."""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from app.data.mnist import MNIST, load_mnist
from app.nn.protocol import (
    CheckpointEvent,
    Pause,
    Probe,
    ProbeResult,
    Resume,
    SetLearningRate,
    SetSpeed,
    SnapshotWeights,
    Step,
    Stop,
    Weights,
)
from app.nn.trainer import (
    EvaluationEvent,
    MetricsEvent,
    StatusEvent,
    TrainConfig,
    Trainer,
    TrainerEvent,
    scheduled_learning_rate,
)

N_TRAIN, N_TEST, N_VALIDATION = 3000, 1000, 500
DEADLINE = 20.0


@pytest.fixture(scope="module")
def small_mnist(mnist_dir: Path) -> MNIST:
    full = load_mnist(mnist_dir, download=False)
    return MNIST(
        full.train_images[:N_TRAIN],
        full.train_labels[:N_TRAIN],
        full.test_images[:N_TEST],
        full.test_labels[:N_TEST],
    )


def relu_config(**changes) -> TrainConfig:
    base = dict(
        layers=[32],
        activation="relu",
        cost="cross_entropy",
        optimizer="adam",
        learning_rate=0.003,
        batch_size=32,
        epochs=2,
        validation_size=N_VALIDATION,
        report_every=5,
    )
    return TrainConfig(**{**base, **changes})


class Recorder:
    """Collects events from the training thread."""

    def __init__(self) -> None:
        self.events: list[TrainerEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: TrainerEvent) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, kind: type) -> list:
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]


def wait_until(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def start(trainer: Trainer) -> threading.Thread:
    thread = threading.Thread(target=trainer.run, daemon=True)
    thread.start()
    return thread


def finish(trainer: Trainer, thread: threading.Thread) -> None:
    trainer.stop()
    thread.join(DEADLINE)
    assert not thread.is_alive()


def test_training_learns_and_reports(small_mnist: MNIST) -> None:
    record = Recorder()
    trainer = Trainer(relu_config(), small_mnist, on_event=record)
    assert trainer.run() == "finished"

    metrics = record.of(MetricsEvent)
    steps = [m.step for m in metrics]
    assert steps == sorted(set(steps)) and steps[-1] == trainer.total_steps
    # 2500 training images in batches of 32: 79 steps per epoch, the last batch has 4.
    assert trainer.steps_per_epoch == 79
    assert metrics[-1].samples_seen == 2 * (N_TRAIN - N_VALIDATION)
    assert metrics[-1].epoch == pytest.approx(2.0)
    assert np.mean([m.cost for m in metrics[-5:]]) < 0.5 * np.mean([m.cost for m in metrics[:2]])
    assert all(m.samples_per_second > 0 and 0 <= m.batch_accuracy <= 1 for m in metrics)
    # Only the last evaluation is left at the end; more than that at the start.
    assert 0 <= metrics[-1].eta_seconds < metrics[0].eta_seconds

    evaluations = record.of(EvaluationEvent)
    assert [e.epoch for e in evaluations] == [1, 2]
    labels = small_mnist.test_labels.astype(np.int64)
    for e in evaluations:
        confusion = np.array(e.confusion)
        assert confusion.shape == (10, 10) and confusion.sum() == N_TEST
        assert e.test_predictions.shape == (N_TEST,) and e.test_confidence.shape == (N_TEST,)
        assert np.trace(confusion) == np.sum(e.test_predictions == labels)
        assert e.test_accuracy == pytest.approx(np.trace(confusion) / N_TEST)
        # Each row counts one true digit; the 7s are row 7 whatever the network says.
        assert confusion[7].sum() == np.sum(labels == 7)
        assert np.all((e.test_confidence > 0.1) & (e.test_confidence <= 1))
    assert evaluations[-1].test_accuracy > 0.8
    assert 0.8 < evaluations[-1].validation_accuracy <= 1

    statuses = [s.status for s in record.of(StatusEvent)]
    assert statuses == ["running", "finished"]
    assert not record.of(CheckpointEvent)  # only when asked for (checkpoint_seconds)


def test_pause_blocks_and_resume_continues(small_mnist: MNIST) -> None:
    record = Recorder()
    trainer = Trainer(relu_config(epochs=50), small_mnist, on_event=record)
    thread = start(trainer)
    try:
        wait_until(lambda: trainer.step_count > 3, "some steps")
        trainer.pause()
        wait_until(lambda: trainer.status == "paused", "the pause")
        paused_at = trainer.step_count
        # Absence of progress can only be observed over a window of time.
        time.sleep(0.3)
        assert trainer.step_count == paused_at
        trainer.resume()
        wait_until(lambda: trainer.step_count > paused_at + 5, "progress after resume")
        assert trainer.status == "running"
    finally:
        finish(trainer, thread)
    assert trainer.status == "stopped"
    statuses = [s.status for s in record.of(StatusEvent)]
    assert statuses == ["running", "paused", "running", "stopped"]


def test_pause_reports_every_step_done_before_it(small_mnist: MNIST) -> None:
    # With a large report_every the last window is only partly full when the pause lands; its
    # steps must still be reported, or a paused run's history would stop short of its step.
    record = Recorder()
    trainer = Trainer(relu_config(epochs=50, report_every=997), small_mnist, on_event=record)
    thread = start(trainer)
    try:
        wait_until(lambda: trainer.step_count > 1100, "some steps")
        trainer.pause()
        wait_until(lambda: trainer.status == "paused", "the pause")
        metrics = record.of(MetricsEvent)
        assert metrics[-1].step == trainer.step_count
    finally:
        finish(trainer, thread)


def test_step_while_paused_trains_exactly_one_batch(small_mnist: MNIST) -> None:
    record = Recorder()
    trainer = Trainer(relu_config(report_every=1000), small_mnist, on_event=record)
    trainer.pause()  # paused before the first batch
    thread = start(trainer)
    try:
        wait_until(lambda: trainer.status == "paused", "the pause")
        assert trainer.step_count == 0
        before = trainer.snapshot()
        trainer.step()
        wait_until(lambda: trainer.step_count == 1, "one step")
        trainer.step()
        wait_until(lambda: trainer.step_count == 2, "a second step")
        time.sleep(0.2)
        assert trainer.step_count == 2 and trainer.status == "paused"
        # A single step is reported at once, even though report_every is large.
        wait_until(lambda: len(record.of(MetricsEvent)) == 2, "two metrics events")
        assert [m.step for m in record.of(MetricsEvent)] == [1, 2]
        assert not np.array_equal(before.params, trainer.snapshot().params)
    finally:
        finish(trainer, thread)
    assert trainer.status == "stopped"


def test_step_is_ignored_unless_paused(small_mnist: MNIST) -> None:
    trainer = Trainer(relu_config(), small_mnist)
    trainer.step()  # not paused: must not be saved up for a later pause
    trainer.pause()
    thread = start(trainer)
    wait_until(lambda: trainer.status == "paused", "the pause")
    time.sleep(0.2)
    assert trainer.step_count == 0
    finish(trainer, thread)


def test_stop_while_paused_ends_the_run(small_mnist: MNIST) -> None:
    trainer = Trainer(relu_config(), small_mnist)
    trainer.pause()
    thread = start(trainer)
    wait_until(lambda: trainer.status == "paused", "the pause")
    finish(trainer, thread)
    assert trainer.status == "stopped" and trainer.step_count == 0


def test_set_learning_rate_applies_to_the_next_step(small_mnist: MNIST) -> None:
    record = Recorder()
    trainer = Trainer(relu_config(lr_schedule="cosine"), small_mnist, on_event=record)
    trainer.pause()
    thread = start(trainer)
    try:
        wait_until(lambda: trainer.status == "paused", "the pause")
        trainer.set_learning_rate(0.0123)
        trainer.step()
        wait_until(lambda: len(record.of(MetricsEvent)) == 1, "a metrics event")
        assert record.of(MetricsEvent)[0].learning_rate == pytest.approx(0.0123)
        assert trainer.optimizer.learning_rate == pytest.approx(0.0123)
        with pytest.raises(ValueError):
            trainer.set_learning_rate(math.nan)
        with pytest.raises(ValueError):
            trainer.set_learning_rate(-1.0)
    finally:
        finish(trainer, thread)


def test_a_run_slowed_by_a_lowered_learning_rate_is_not_called_collapsed(
    small_mnist: MNIST,
) -> None:
    """The collapse rule (chance-level accuracy after the first epoch → "diverged: the learning
    rate is likely too large") is about a rate too LARGE. A learner who lowers the rate to
    almost nothing mid-run gets a run that learns slowly, not a "diverged" one (CI saw
    tests/api/test_runs.py's run, patched to 0.02, end "diverged" when its first epoch ended
    before the stop)."""
    record = Recorder()
    config = relu_config(batch_size=8, epochs=2, report_every=1000)  # 312 steps an epoch
    trainer = Trainer(config, small_mnist, on_event=record)
    trainer.pause()
    thread = start(trainer)
    try:
        wait_until(lambda: trainer.status == "paused", "the pause")
        trainer.set_learning_rate(1e-12)  # learns nothing: chance level after the first epoch
        trainer.resume()
        thread.join(DEADLINE)
        first = record.of(EvaluationEvent)[0]
        assert first.validation_accuracy is not None and first.validation_accuracy <= 0.15
        assert trainer.status == "finished", trainer.reason
    finally:
        finish(trainer, thread)


# (A sigmoid network with the quadratic cost cannot diverge: the cost is bounded and a huge
# step saturates the sigmoids, whose gradients then vanish.)
@pytest.mark.parametrize("learning_rate", [1e10, 1e30])
def test_huge_learning_rate_diverges_with_finite_weights(
    small_mnist: MNIST, learning_rate: float
) -> None:
    record = Recorder()
    config = relu_config(epochs=5, optimizer="sgd", learning_rate=learning_rate)
    trainer = Trainer(config, small_mnist, on_event=record)
    assert trainer.run() == "diverged"
    assert "cost" in trainer.reason and "learning rate" in trainer.reason
    assert record.of(StatusEvent)[-1] == StatusEvent("diverged", trainer.reason)
    assert trainer.step_count < trainer.total_steps
    assert np.isfinite(trainer.network.params).all()


@pytest.mark.parametrize("augment", [False, True])
def test_seeded_runs_are_reproducible(small_mnist: MNIST, augment: bool) -> None:
    def train(seed: int) -> tuple[np.ndarray, list[float]]:
        record = Recorder()
        config = relu_config(epochs=1, seed=seed, augment=augment, train_subset=800)
        trainer = Trainer(config, small_mnist, on_event=record)
        assert trainer.run() == "finished"
        return trainer.network.params.copy(), [m.cost for m in record.of(MetricsEvent)]

    params_a, costs_a = train(seed=3)
    params_b, costs_b = train(seed=3)
    params_c, _ = train(seed=4)
    assert np.array_equal(params_a, params_b) and costs_a == costs_b
    assert not np.array_equal(params_a, params_c)


def test_train_subset_limits_the_samples_per_epoch(small_mnist: MNIST) -> None:
    trainer = Trainer(relu_config(epochs=1, train_subset=320), small_mnist)
    assert trainer.run() == "finished"
    assert trainer.samples_seen == 320 and trainer.step_count == 10


def test_snapshot_is_an_independent_copy(small_mnist: MNIST) -> None:
    trainer = Trainer(relu_config(epochs=1), small_mnist)
    copy = trainer.snapshot()
    assert copy.sizes == [784, 32, 10] and np.array_equal(copy.params, trainer.network.params)
    copy.params[:] = 0
    assert np.any(trainer.network.params != 0)


def test_continues_training_a_given_network(small_mnist: MNIST) -> None:
    first = Trainer(relu_config(epochs=1), small_mnist)
    first.run()
    second = Trainer(relu_config(epochs=1, seed=1), small_mnist, network=first.network)
    assert second.network is first.network
    second.run()
    assert second.evaluations[-1].test_accuracy >= first.evaluations[-1].test_accuracy - 0.02


def test_learning_rate_schedules() -> None:
    total = 1000
    rates = {
        name: [scheduled_learning_rate(name, 0.01, step, total) for step in range(total)]
        for name in ("constant", "cosine", "onecycle")
    }
    assert set(rates["constant"]) == {0.01}
    cosine = rates["cosine"]
    assert cosine[0] == pytest.approx(0.01) and cosine[-1] == pytest.approx(0.01 / 25)
    assert all(a >= b for a, b in itertools.pairwise(cosine))
    onecycle = rates["onecycle"]
    peak = int(np.argmax(onecycle))
    assert onecycle[0] == pytest.approx(0.01 / 25) and onecycle[-1] == pytest.approx(0.01 / 25)
    assert 0.1 * total < peak < 0.2 * total and onecycle[peak] == pytest.approx(0.01, rel=1e-3)
    with pytest.raises(ValueError, match="lr_schedule"):
        scheduled_learning_rate("sawtooth", 0.01, 0, total)


def test_config_round_trips_and_rejects_unknown_keys() -> None:
    config = TrainConfig(layers=[64, 32], augment=True, train_subset=100)
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert config.sizes() == [784, 64, 32, 10]
    with pytest.raises(ValueError, match="dropout"):
        TrainConfig.from_dict({"dropout": 0.5})


def test_typed_commands_drive_the_trainer_and_queries_answer(small_mnist: MNIST) -> None:
    record = Recorder()
    trainer = Trainer(relu_config(epochs=50, report_every=1000), small_mnist, on_event=record)
    assert trainer.handle(Pause()) is None
    thread = start(trainer)
    try:
        wait_until(lambda: trainer.status == "paused", "the pause")
        before = trainer.handle(SnapshotWeights())
        assert isinstance(before, Weights) and before.step == 0
        assert trainer.handle(SetLearningRate(0.0456)) is None
        trainer.handle(Step())
        wait_until(lambda: trainer.step_count == 1, "one step")
        after = trainer.handle(SnapshotWeights())
        assert isinstance(after, Weights) and after.step == 1
        assert not np.array_equal(before.params, after.params)
        # The gradient norms are those of the step just taken, one per layer, all positive.
        assert after.grad_norms is not None and len(after.grad_norms) == 2
        assert all(g is not None and g > 0 for g in after.grad_norms)
        assert record.of(MetricsEvent)[-1].learning_rate == pytest.approx(0.0456)
        # A probe is a forward pass through the current weights, computed independently here.
        inputs = small_mnist.test_images[:3].reshape(3, -1).astype(np.float32) / 255
        probe = trainer.handle(Probe(inputs))
        assert isinstance(probe, ProbeResult) and probe.step == 1
        rebuilt = after.network()
        hidden = np.maximum(inputs @ rebuilt.weights[0].T + rebuilt.biases[0], 0)
        np.testing.assert_allclose(probe.activations[0], hidden, rtol=1e-5, atol=1e-6)
        assert [a.shape for a in probe.activations] == [(3, 32), (3, 10)]
        trainer.handle(Resume())
        wait_until(lambda: trainer.step_count > 5, "progress after resume")
        trainer.handle(Stop())
        thread.join(DEADLINE)
    finally:
        finish(trainer, thread)
    assert trainer.status == "stopped"
    assert [s.status for s in record.of(StatusEvent)] == ["running", "paused", "running", "stopped"]


def test_checkpoints_after_every_epoch_and_on_a_clock(small_mnist: MNIST) -> None:
    record = Recorder()
    trainer = Trainer(relu_config(epochs=2), small_mnist, on_event=record, checkpoint_seconds=1e9)
    trainer.run()
    checkpoints = record.of(CheckpointEvent)
    # 2500 images in batches of 32 = 79 steps an epoch; a long clock leaves the epoch ends.
    assert [(c.epoch, c.weights.step) for c in checkpoints] == [(1.0, 79), (2.0, 158)]
    assert np.array_equal(checkpoints[-1].weights.params, trainer.network.params)
    assert not np.array_equal(checkpoints[0].weights.params, checkpoints[1].weights.params)
    clocked = Recorder()
    Trainer(relu_config(epochs=1), small_mnist, on_event=clocked, checkpoint_seconds=0.0).run()
    assert len(clocked.of(CheckpointEvent)) > 1  # every metrics window, and the epoch's end


def test_slow_motion_trains_at_the_set_speed_and_reports_every_batch(small_mnist: MNIST) -> None:
    record = Recorder()
    trainer = Trainer(relu_config(epochs=50, report_every=1000), small_mnist, on_event=record)
    trainer.handle(SetSpeed(4.0))
    began = time.monotonic()
    thread = start(trainer)
    try:
        wait_until(lambda: trainer.step_count >= 4, "four slow steps")
        # Four batches at 4 a second take at least 3 intervals of 0.25 s, however fast the CPU.
        assert time.monotonic() - began >= 3 / 4
        steps = [m.step for m in record.of(MetricsEvent)]
        assert steps == list(range(1, len(steps) + 1))  # one report per batch
        with pytest.raises(ValueError):
            trainer.set_speed(0.0)
        with pytest.raises(ValueError):
            trainer.set_speed(math.inf)
        trainer.handle(SetSpeed(None))  # full speed again, at once
        # 100 more batches within the deadline (20 s): at 4 a second they would take 25 s.
        slow_until = trainer.step_count
        wait_until(lambda: trainer.step_count >= slow_until + 100, "full speed")
    finally:
        finish(trainer, thread)
    assert trainer.status == "stopped"

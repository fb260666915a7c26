"""Trainer(start_step=): a run continued from a checkpoint trains the batches an uninterrupted
run would have, from the same step (plain SGD has no other state, so the weights end equal)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.data.mnist import MNIST, load_mnist
from app.nn.protocol import CheckpointEvent, EvaluationEvent, MetricsEvent, TrainerEvent
from app.nn.trainer import TrainConfig, Trainer

CONFIG = TrainConfig(
    layers=[16], optimizer="sgd", learning_rate=0.5, batch_size=50, epochs=3,
    validation_size=200, report_every=1,
)  # fmt: skip
STEPS_PER_EPOCH = 1000 // 50  # 1200 training images minus 200 held out


@pytest.fixture(scope="module")
def small_mnist(mnist_dir: Path) -> MNIST:
    full = load_mnist(mnist_dir, download=False)
    return MNIST(full.train_images[:1200], full.train_labels[:1200],
                 full.test_images[:500], full.test_labels[:500])  # fmt: skip


def _train(data: MNIST, **kwargs) -> tuple[Trainer, list[TrainerEvent]]:
    events: list[TrainerEvent] = []
    trainer = Trainer(CONFIG, data, on_event=events.append, checkpoint_seconds=1e9, **kwargs)
    assert trainer.run() == "finished"
    return trainer, events


@pytest.mark.parametrize("start", [STEPS_PER_EPOCH, STEPS_PER_EPOCH + 7])  # at / inside epoch 2
def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(
    small_mnist: MNIST, start: int
) -> None:
    whole, events = _train(small_mnist)
    checkpoints = [e for e in events if isinstance(e, CheckpointEvent)]
    assert [c.weights.step for c in checkpoints] == [20, 40, 60]
    # The weights after `start` steps: a run cut short there (its last checkpoint).
    cut = Trainer(CONFIG, small_mnist, checkpoint_seconds=1e9)
    cut.pause()
    for _ in range(start):
        cut.step()
    _run_until(cut, start)
    resumed, later = _train(small_mnist, network=cut.network.copy(), start_step=start)
    assert resumed.step_count == 3 * STEPS_PER_EPOCH
    assert np.array_equal(resumed.network.params, whole.network.params)
    steps = [e.step for e in later if isinstance(e, MetricsEvent)]
    assert steps == list(range(start + 1, 3 * STEPS_PER_EPOCH + 1))
    assert [e.epoch for e in later if isinstance(e, EvaluationEvent)] == [2, 3]


def _run_until(trainer: Trainer, steps: int) -> None:
    """Run a paused `trainer` given `steps` single steps in a thread until it has trained
    them, then stop it."""
    thread = threading.Thread(target=trainer.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while trainer.step_count < steps:
        assert time.monotonic() < deadline, "the single steps did not happen in time"
        time.sleep(0.01)
    trainer.stop()
    thread.join(10)
    assert trainer.step_count == steps


def test_start_step_must_be_within_the_run(small_mnist: MNIST) -> None:
    with pytest.raises(ValueError, match="start_step"):
        Trainer(CONFIG, small_mnist, start_step=3 * STEPS_PER_EPOCH)

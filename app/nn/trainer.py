"""Mini-batch training of a `Network` on MNIST, driven from another thread.

`Trainer.run()` blocks until the run ends; another thread controls and queries it with the
typed commands of app/nn/protocol.py through `handle(command)` (or the equivalent methods
`pause`, `resume`, `step`, `stop`, `set_learning_rate`, `snapshot`). Progress leaves only
through the `on_event` callback (no I/O here): a `MetricsEvent` every `report_every` steps, an
`EvaluationEvent` after every epoch and a `StatusEvent` on every status change. The callback
runs on the training thread, so it should be quick.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Literal

import numpy as np

from app.data.batches import PREFETCH_BATCHES as PREFETCH_BATCHES
from app.data.batches import BatchProducer as BatchProducer
from app.data.batches import augment_options as augment_options
from app.data.batches import prepare_data as prepare_data
from app.data.batches import to_inputs as to_inputs
from app.data.deslant import transform_batch, transformed_data
from app.data.drawing_mix import DrawingSplit, epoch_plan
from app.nn.config import TrainConfig as TrainConfig
from app.nn.network import Network
from app.nn.optim import make_optimizer
from app.nn.protocol import (
    MAX_SPEED,
    CheckpointEvent,
    Command,
    EvaluationEvent,
    MetricsEvent,
    Pause,
    Probe,
    ProbeResult,
    Reply,
    Resume,
    SetLearningRate,
    SetSpeed,
    SnapshotWeights,
    Status,
    StatusEvent,
    Step,
    Stop,
    TrainerEvent,
    Weights,
)
from app.nn.vocab import INPUT_SIZE, LR_SCHEDULES, OUTPUT_SIZE, LrSchedule

if TYPE_CHECKING:
    from app.data.mnist import MNIST

# Share of the run spent warming the learning rate up under "onecycle".
ONECYCLE_WARMUP = 0.15
# onecycle starts (and cosine/onecycle end) at the peak divided by this.
LR_FLOOR_DIVISOR = 25.0
# Rows per forward pass during evaluation: bounds the activations' memory for wide networks.
EVAL_CHUNK = 2500


def scheduled_learning_rate(
    schedule: LrSchedule, peak: float, step: int, total_steps: int
) -> float:
    """The learning rate for 0-based `step` of `total_steps`.

    constant: `peak` throughout. cosine: `peak` annealed to peak/25 along a half cosine.
    onecycle: linear warm-up from peak/25 to `peak` over the first 15% of steps, then cosine
    down to peak/25 (a short warm-up lets Adam's moment estimates settle before large steps).
    """
    if schedule == "constant" or total_steps <= 1:
        return peak
    low = peak / LR_FLOOR_DIVISOR
    progress = min(step / (total_steps - 1), 1.0)
    if schedule == "onecycle":
        if progress < ONECYCLE_WARMUP:
            return low + (peak - low) * progress / ONECYCLE_WARMUP
        progress = (progress - ONECYCLE_WARMUP) / (1.0 - ONECYCLE_WARMUP)
    elif schedule != "cosine":
        raise ValueError(f"unknown lr_schedule {schedule!r}: choose {', '.join(LR_SCHEDULES)}")
    return low + (peak - low) * 0.5 * (1.0 + math.cos(math.pi * progress))


def evaluate(network: Network, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predicted digits (N,) int64 and their probabilities (N,) float32 for inputs x (N, 784)."""
    predictions = np.empty(len(x), dtype=np.int64)
    confidence = np.empty(len(x), dtype=np.float32)
    for start in range(0, len(x), EVAL_CHUNK):
        proba = network.predict_proba(x[start : start + EVAL_CHUNK])
        chunk = slice(start, start + len(proba))
        predictions[chunk] = proba.argmax(axis=1)
        confidence[chunk] = proba.max(axis=1)
    return predictions, confidence


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """10x10 int64 counts: rows = true label, columns = predicted."""
    flat = np.bincount(labels * OUTPUT_SIZE + predictions, minlength=OUTPUT_SIZE * OUTPUT_SIZE)
    return flat.reshape(OUTPUT_SIZE, OUTPUT_SIZE)


# A first evaluation at or below this accuracy (10 classes: chance is 10%) means the run
# collapsed — the learning rate is almost always too large.
COLLAPSE_ACCURACY = 0.15
# ...provided the first epoch had at least this many steps: a slow learner (sigmoid, SGD) on a
# tiny subset can legitimately still be at chance after a few dozen steps.
COLLAPSE_MIN_STEPS = 200


class _Window:
    """What the next MetricsEvent averages: plain numbers, no per-step objects."""

    __slots__ = ("correct", "cost", "samples", "start", "steps")

    def __init__(self, start: float) -> None:
        self.start = start  # perf_counter() when the window began (pauses excluded)
        self.clear()

    def clear(self) -> None:
        self.steps = self.samples = self.correct = 0
        self.cost = 0.0

    def add(self, samples: int, correct: int, cost: float) -> None:
        self.steps += 1
        self.samples += samples
        self.correct += correct
        self.cost += cost


def _transformed(drawings: DrawingSplit, config: TrainConfig) -> DrawingSplit:
    """The drawings as a deslant or strokes run reads them (issue 17 §5: the model's input
    transform)."""
    flags = (config.deslant, config.strokes)
    return dataclasses.replace(
        drawings,
        train_x=transform_batch(drawings.train_x, *flags),
        held_x=transform_batch(drawings.held_x, *flags),
    )


class Trainer:
    """Trains `network` (a new one from `config` when None) on `data`; see the module doc.

    status: "pending" before run(), then "running" | "paused", and finally "finished" |
    "stopped" | "diverged" | "failed" (an unexpected exception, re-raised by run()).
    """

    def __init__(
        self,
        config: TrainConfig,
        data: MNIST,
        *,
        on_event: Callable[[TrainerEvent], None] | None = None,
        network: Network | None = None,
        checkpoint_seconds: float | None = None,
        start_step: int = 0,
        drawings: DrawingSplit | None = None,
    ) -> None:
        """`checkpoint_seconds`: emit a CheckpointEvent after every epoch and at least this
        often (None: no checkpoints). `start_step`: continue a run from a checkpoint of
        `network` taken after that many steps: the same batches follow as in the run that was
        cut short (augmentations and the optimizer's state, e.g. momentum, start afresh).
        `drawings`: the run's labelled drawings (issue 17 §2): `config.data` says whether its
        training side goes into the batches; its held-out side is evaluated every epoch."""
        self.config = config
        self.drawings = (
            _transformed(drawings, config)
            if drawings is not None and (config.deslant or config.strokes)
            else drawings
        )
        self.checkpoint_seconds = checkpoint_seconds
        self._last_checkpoint = time.perf_counter()
        self._emit = on_event or (lambda event: None)
        used = self._init_data(data)

        if network is None:
            network = Network(config.sizes(), config.activation, config.cost, seed=config.seed)
        elif network.sizes[0] != INPUT_SIZE or network.sizes[-1] != OUTPUT_SIZE:
            raise ValueError(f"network sizes {network.sizes} do not fit 784 inputs, 10 outputs")
        self.network = network
        self.optimizer = make_optimizer(
            config.optimizer,
            config.learning_rate,
            l2=config.l2,
            momentum=config.momentum,
        )

        self.plan = epoch_plan(
            config.data, config.batch_size, config.drawings_fraction, used, drawings
        )
        self.steps_per_epoch = self.plan.steps_per_epoch
        self.total_steps = self.steps_per_epoch * config.epochs
        if not 0 <= start_step < self.total_steps:
            raise ValueError(f"start_step {start_step} is not within the run's {self.total_steps}")
        self.status: Status | Literal["pending"] = "pending"
        self.reason: str | None = None
        self.start_step = start_step
        self.step_count = start_step
        epoch, offset = divmod(start_step, self.steps_per_epoch)
        per_epoch = self.plan.samples_per_epoch
        self.samples_seen = epoch * per_epoch + min(offset * config.batch_size, per_epoch)
        self.train_seconds = 0.0  # time spent in train steps (no pauses, no evaluation)
        self.seconds = 0.0  # run() wall time, excluding pauses
        self.eval_seconds = 0.0  # of which spent in the per-epoch evaluations
        self.evaluations: list[EvaluationEvent] = []

        self._init_control()

    def _init_data(self, data: MNIST) -> int:
        """The validation, training and test arrays; how many training images are used."""
        config = self.config
        prepared = prepare_data(transformed_data(data, config.deslant, config.strokes))
        n_train = len(prepared.train_pixels) - config.validation_size
        if n_train < 1:
            raise ValueError("validation_size leaves no training images")
        # The validation split is the last validation_size images: fixed, so runs compare.
        self.val_x = to_inputs(prepared.train_pixels[n_train:])
        self.val_y = prepared.train_y[n_train:]
        used = n_train if config.train_subset is None else min(config.train_subset, n_train)
        self.train_pixels = prepared.train_pixels[:used]
        self.train_y = prepared.train_y[:used]
        self.test_x, self.test_y = prepared.test_x, prepared.test_y
        return used

    def _init_control(self) -> None:
        # _network_lock makes each train_step atomic for snapshot(); _control guards the
        # pause/step/stop flags and wakes a paused run.
        self._network_lock = threading.Lock()
        self._control = threading.Condition()
        self._paused = False
        self._stop_requested = False
        self._pending_steps = 0
        self._lr_override: float | None = None
        self._step_interval: float | None = None  # seconds between batches in slow motion
        self._last_step_end = 0.0
        self._started = 0.0
        self._paused_seconds = 0.0
        # Read without the lock in the hot loop: a single bool is enough to take the slow path.
        self._attention = False

    # ---- control, from any thread -------------------------------------------------------

    def pause(self) -> None:
        """Pause before the next mini-batch (also valid before run() starts)."""
        with self._control:
            self._paused = True
            self._attention = True

    def resume(self) -> None:
        with self._control:
            self._paused = False
            self._pending_steps = 0
            self._control.notify_all()

    def step(self) -> None:
        """While paused, train exactly one more mini-batch (ignored when not paused, so a
        stray call cannot let a batch through a later pause)."""
        with self._control:
            if self._paused:
                self._pending_steps += 1
                self._control.notify_all()

    def stop(self) -> None:
        """End the run after the current mini-batch, with status "stopped"."""
        with self._control:
            self._stop_requested = True
            self._attention = True
            self._control.notify_all()

    def set_learning_rate(self, learning_rate: float) -> None:
        """Use this rate from the next mini-batch on; it replaces the schedule for the rest of
        the run (a rate the user sets should be the rate they see)."""
        if not (math.isfinite(learning_rate) and learning_rate > 0):
            raise ValueError("learning_rate must be a positive finite number")
        with self._control:
            self._lr_override = float(learning_rate)

    def set_speed(self, batches_per_second: float | None) -> None:
        """Slow motion: at most this many mini-batches a second, each reported as it is done
        (None: full speed again). Takes effect at once, even mid-wait."""
        if batches_per_second is not None and not (
            math.isfinite(batches_per_second) and 0 < batches_per_second <= MAX_SPEED
        ):
            raise ValueError(f"batches_per_second must be in (0, {MAX_SPEED:g}] or None")
        with self._control:
            self._step_interval = None if batches_per_second is None else 1.0 / batches_per_second
            self._attention = True
            self._control.notify_all()

    def snapshot(self) -> Network:
        """A copy of the network between two mini-batches."""
        with self._network_lock:
            return self.network.copy()

    def weights(self) -> Weights:
        """The parameters between two mini-batches, with the latest step's gradient norms."""
        with self._network_lock:
            return Weights.of(self.network, self.step_count, with_grads=True)

    def probe(self, inputs: np.ndarray) -> ProbeResult:
        """Every layer's z and activation for `inputs` (B, 784) through the current weights."""
        with self._network_lock:
            step = self.step_count
            forward = self.network.forward(np.asarray(inputs, dtype=np.float32))
        return ProbeResult(step, forward.zs, forward.activations[1:])

    def handle(self, command: Command) -> Reply | None:
        """Obey one command (from any thread); queries are answered, controls return None."""
        match command:
            case Pause():
                self.pause()
            case Resume():
                self.resume()
            case Step():
                self.step()
            case Stop():
                self.stop()
            case SetLearningRate(learning_rate=rate):
                self.set_learning_rate(rate)
            case SetSpeed(batches_per_second=speed):
                self.set_speed(speed)
            case SnapshotWeights():
                return self.weights()
            case Probe(inputs=inputs):
                return self.probe(inputs)
        return None

    @property
    def learning_rate(self) -> float:
        return float(self.optimizer.learning_rate)

    # ---- the run ------------------------------------------------------------------------

    def _set_status(self, status: Status, reason: str | None = None) -> None:
        self.status, self.reason = status, reason
        self._emit(StatusEvent(status, reason))

    def _wait_for_go(self) -> bool:
        """Block while paused (the time counts as paused) or until the next batch is due in
        slow motion (it does not); return False when the run must stop. A pending single step
        lets one batch through and leaves the run paused. Status events are emitted outside
        the lock so a slow callback never blocks the controlling threads."""
        while True:
            with self._control:
                if self._stop_requested:
                    return False
                if not self._paused:
                    interval = self._step_interval
                    self._attention = interval is not None
                    wanted: Status = "running"
                    if interval is not None and self.status == "running":
                        delay = self._last_step_end + interval - time.perf_counter()
                        if delay > 0:
                            self._control.wait(delay)
                            continue
                else:
                    wanted = "paused"
                    if self.status == "paused":
                        if self._pending_steps > 0:
                            self._pending_steps -= 1
                            return True
                        began = time.perf_counter()
                        self._control.wait()
                        self._paused_seconds += time.perf_counter() - began
                        continue
            if self.status != wanted:
                self._set_status(wanted)
            if wanted == "running":
                return True

    def run(self) -> str:
        """Train until the epochs are done, stop() is called or the cost diverges; return the
        final status."""
        if self.status != "pending":
            raise RuntimeError("a Trainer runs once")
        self._set_status("running")
        self._started = time.perf_counter()
        batches = BatchProducer(
            self.train_pixels,
            self.train_y,
            self.config.batch_size,
            self.config.epochs,
            self.config.seed,
            augment_options(self.config.augment_strength) if self.config.augment else None,
            skip=self.start_step,
            plan=self.plan,
        )
        try:
            # A diverging run overflows before its cost turns non-finite; that is detected and
            # reported as "diverged", so NumPy's overflow warnings would only be noise.
            with np.errstate(over="ignore", invalid="ignore"):
                self._loop(iter(batches))
        except BaseException as exc:
            self._set_status("failed", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            batches.close()
            self.seconds = self._active_seconds()
        return self.status

    def _active_seconds(self) -> float:
        """Seconds since run() started, not counting pauses."""
        return time.perf_counter() - self._started - self._paused_seconds

    def _loop(self, batches: Iterator[tuple[np.ndarray, np.ndarray]]) -> None:
        """The training loop; sets the final status."""
        report_every = max(1, self.config.report_every)
        window = _Window(time.perf_counter())
        first_epoch, first_offset = divmod(self.start_step, self.steps_per_epoch)
        for epoch in range(first_epoch, self.config.epochs):
            for _ in range(first_offset if epoch == first_epoch else 0, self.steps_per_epoch):
                single_step = False
                if self._attention:
                    go = self._attend(epoch, window)
                    if go is None:
                        self._set_status("stopped", "stopped by request")
                        return
                    single_step = go
                x, y = next(batches)
                cost, correct, lr = self._train_batch(x, y)
                if not math.isfinite(cost):
                    self._set_status("diverged", self._divergence_reason(cost, lr))
                    return
                self.step_count += 1
                self.samples_seen += len(y)
                window.add(len(y), correct, cost)
                if window.steps >= report_every or single_step:
                    self._report(epoch, window)
                    window.start = time.perf_counter()
            self._report(epoch, window)
            if not self._end_epoch(epoch):
                return
            window.start = time.perf_counter()
        self._set_status("finished")

    def _attend(self, epoch: int, window: _Window) -> bool | None:
        """The slow path before a batch (pause, step, stop or slow motion asked): report the
        window so far, so a paused or stopped run's history ends at the step it really stopped
        at; wait for the go. None: the run must stop; else whether to report this one batch on
        its own (a single step, or every step in slow motion)."""
        self._report(epoch, window)
        paused_before = self._paused_seconds
        if not self._wait_for_go():
            return None
        window.start += self._paused_seconds - paused_before
        return self.status == "paused" or self._step_interval is not None

    def _train_batch(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int, float]:
        """One mini-batch at the scheduled (or user's) learning rate: (cost, correct, lr)."""
        lr = self._lr_override
        if lr is None:
            config = self.config
            lr = scheduled_learning_rate(
                config.lr_schedule, config.learning_rate, self.step_count, self.total_steps
            )
        self.optimizer.learning_rate = lr
        step_began = time.perf_counter()
        with self._network_lock:
            cost, correct = self.network.train_step(x, y, self.optimizer)
        self._last_step_end = time.perf_counter()
        self.train_seconds += self._last_step_end - step_began
        return cost, correct, lr

    def _report(self, epoch: int, window: _Window) -> None:
        """A MetricsEvent of the window's steps (none: nothing), and a fresh window."""
        if window.steps:
            self._emit_metrics(epoch, window)
            window.clear()

    def _end_epoch(self, epoch: int) -> bool:
        """Evaluate after `epoch` (0-based) and checkpoint; False when the run collapsed."""
        evaluation = self._evaluate(epoch + 1)
        if epoch == 0 and (reason := self._collapse_reason(evaluation)):
            self._set_status("diverged", reason)
            return False
        if self.checkpoint_seconds is not None:
            self._checkpoint(float(epoch + 1))
        return True

    def _collapse_reason(self, evaluation: EvaluationEvent) -> str | None:
        """Why a run whose first evaluation is at chance level (≤ COLLAPSE_ACCURACY) collapsed."""
        accuracy = evaluation.validation_accuracy
        if accuracy is None:
            accuracy = evaluation.test_accuracy
        if accuracy > COLLAPSE_ACCURACY or self.step_count < COLLAPSE_MIN_STEPS:
            return None
        lr = self.config.learning_rate
        if self._lr_override is not None and self._lr_override < lr:
            return None  # the learner lowered the rate: slow learning, not a rate too large
        return (
            f"collapsed: accuracy {accuracy:.1%} after the first epoch is chance level; "
            f"the learning rate {lr:g} is likely too large, try {lr / 10:g} (10× smaller)"
        )

    def _divergence_reason(self, cost: float, lr: float) -> str:
        reason = (
            f"the cost became {cost} at step {self.step_count + 1} (learning rate {lr:g}); "
            "try a smaller learning rate"
        )
        # Network.train_step promises to leave the weights alone on a non-finite cost; say so
        # loudly if that ever stops being true rather than hand NaN weights on silently.
        params = [*self.network.weights, *self.network.biases]
        if not all(np.isfinite(p).all() for p in params):
            reason += " (the weights are no longer finite)"
        return reason

    def _emit_metrics(self, epoch: int, window: _Window) -> None:
        elapsed = max(time.perf_counter() - window.start, 1e-9)
        done_in_epoch = self.step_count - epoch * self.steps_per_epoch
        fraction = done_in_epoch / self.steps_per_epoch
        # Remaining steps at the average wall time per step so far (batch preparation
        # included), plus the evaluations still to come at their average cost.
        steps_done = max(self.step_count - self.start_step, 1)
        per_step = (self._active_seconds() - self.eval_seconds) / steps_done
        evals_left = self.config.epochs - epoch
        evaluated = len(self.evaluations)
        per_eval = self.eval_seconds / evaluated if evaluated else 0.0
        if (
            self.checkpoint_seconds is not None
            and time.perf_counter() - self._last_checkpoint >= self.checkpoint_seconds
        ):
            self._checkpoint(epoch + fraction)
        self._emit(
            MetricsEvent(
                step=self.step_count,
                epoch=epoch + fraction,
                samples_seen=self.samples_seen,
                cost=window.cost / window.steps,
                batch_accuracy=window.correct / window.samples,
                samples_per_second=window.samples / elapsed,
                learning_rate=float(self.optimizer.learning_rate),
                epoch_index=epoch,
                epoch_fraction=fraction,
                eta_seconds=(self.total_steps - self.step_count) * per_step + evals_left * per_eval,
                emitted_at=time.time(),
            )
        )

    def _checkpoint(self, epoch: float) -> None:
        self._last_checkpoint = time.perf_counter()
        weights = Weights.of(self.network, self.step_count)  # this thread alone writes them
        self._emit(CheckpointEvent(weights, epoch))

    def _evaluate(self, epochs_done: int) -> EvaluationEvent:
        """Accuracy on the validation split, the test set (with its confusion) and the held-out
        drawings (None when the run has none)."""
        began = time.perf_counter()
        network = self.network  # only this thread changes it, so no lock is needed to read
        val_accuracy = None
        if len(self.val_x):
            val_pred, _ = evaluate(network, self.val_x, self.val_y)
            val_accuracy = float(np.mean(val_pred == self.val_y))
        predictions, confidence = evaluate(network, self.test_x, self.test_y)
        drawings_accuracy = None
        if self.drawings is not None and len(self.drawings.held_y):
            held_pred, _ = evaluate(network, self.drawings.held_x, self.drawings.held_y)
            drawings_accuracy = float(np.mean(held_pred == self.drawings.held_y))
        event = EvaluationEvent(
            epoch=epochs_done,
            step=self.step_count,
            validation_accuracy=val_accuracy,
            test_accuracy=float(np.mean(predictions == self.test_y)),
            confusion=confusion_matrix(self.test_y, predictions).tolist(),
            test_predictions=predictions,
            test_confidence=confidence,
            drawings_accuracy=drawings_accuracy,
        )
        self.evaluations.append(event)
        self.eval_seconds += time.perf_counter() - began
        self._emit(event)
        return event

"""The typed seam between a Trainer and whoever drives it: events out, commands in.

A Trainer only *reports* (events) and *obeys* (commands); it decides nothing about a run's
status as the rest of the app sees it. The run object in the web process applies the events
(see app/runs/run.py). Everything here is a plain dataclass of numbers, strings and NumPy
arrays, so it pickles across a process boundary (app/runs/local.py) unchanged.

The status vocabulary of a run is declared here, once: the store, the API schema and the
runs package all derive from `Status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from app.nn.network import Network
from app.nn.vocab import Activation, Cost

# queued → downloading → running ⇄ paused → finished | stopped | diverged | failed;
# interrupted: the server went away (or shut down) while the run was live.
Status = Literal[
    "queued", "downloading", "running", "paused",
    "finished", "stopped", "diverged", "failed", "interrupted",
]  # fmt: skip
STATUSES: tuple[Status, ...] = get_args(Status)
MAX_SPEED = 1000.0  # the largest finite SetSpeed, in mini-batches a second
LIVE_STATUSES: frozenset[Status] = frozenset(STATUSES[:4])
ENDED_STATUSES: frozenset[Status] = frozenset(STATUSES[4:])


# ---- events (Trainer → driver) ------------------------------------------------------------


@dataclass
class MetricsEvent:
    """Training metrics averaged over the steps since the previous MetricsEvent."""

    step: int  # global steps done so far
    epoch: float  # epoch_index + epoch_fraction: 1.5 = half-way through the second epoch
    samples_seen: int
    cost: float  # mean of the per-batch mean costs over the window
    batch_accuracy: float  # correct / samples over the window's batches
    samples_per_second: float  # over the window, excluding pauses and evaluation
    learning_rate: float  # the rate used for the latest step
    epoch_index: int  # 0-based epoch being trained
    epoch_fraction: float  # 0..1 of that epoch done
    eta_seconds: float  # estimated seconds left, from the run's pace so far (pauses excluded)
    emitted_at: float = 0.0  # Unix time when the trainer emitted it (how fresh a watcher's view is)


@dataclass
class EvaluationEvent:
    """End-of-epoch evaluation. `test_predictions` / `test_confidence` are (n_test,) arrays:
    the predicted digit and its probability for every test image (for the mistakes gallery)."""

    epoch: int  # epochs completed (1-based)
    step: int
    validation_accuracy: float | None  # None when validation_size is 0
    test_accuracy: float
    confusion: list[list[int]]  # 10x10, rows = true label, columns = predicted
    test_predictions: np.ndarray
    test_confidence: np.ndarray
    # Accuracy on the run's held-out labelled drawings (issue 17 §2); None when it has none.
    drawings_accuracy: float | None = None


@dataclass
class StatusEvent:
    status: Status
    reason: str | None = None


@dataclass
class Weights:
    """A consistent copy of a network's parameters between two mini-batches."""

    sizes: list[int]
    activation: Activation
    cost: Cost
    params: np.ndarray  # the flat float32 parameter buffer (Network.params)
    step: int
    grad_norms: list[float | None] | None = None  # ‖∂C/∂W_l‖ of the latest step, per layer

    @classmethod
    def of(cls, network: Network, step: int, *, with_grads: bool = False) -> Weights:
        grads = None
        if with_grads:
            grads = [_finite(float(np.linalg.norm(g))) for g in network.grad_weights]
        return cls(
            list(network.sizes), network.activation, network.cost, network.params.copy(),
            step, grads,
        )  # fmt: skip

    def network(self) -> Network:
        return Network.from_flat(self.sizes, self.activation, self.cost, self.params)


@dataclass
class ProbeResult:
    """One forward pass of `Probe.inputs` (one row per input) through the current weights."""

    step: int
    zs: list[np.ndarray]  # (B, n_l) per layer
    activations: list[np.ndarray]  # (B, n_l) per layer, the input layer not included


@dataclass
class CheckpointEvent:
    """The weights at a point a run could be saved from: after every epoch and at least every
    `checkpoint_seconds` (when the Trainer was given it)."""

    weights: Weights
    epoch: float


TrainerEvent = MetricsEvent | EvaluationEvent | StatusEvent | CheckpointEvent


# ---- commands (driver → Trainer) ------------------------------------------------------------


@dataclass(frozen=True)
class Pause:
    """Pause before the next mini-batch."""


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class Step:
    """While paused, train exactly one more mini-batch."""


@dataclass(frozen=True)
class Stop:
    """End the run after the current mini-batch, with status "stopped"."""


@dataclass(frozen=True)
class SetLearningRate:
    learning_rate: float


@dataclass(frozen=True)
class SetSpeed:
    """Train at most `batches_per_second` mini-batches a second (slow motion, reporting every
    batch); None: full speed."""

    batches_per_second: float | None


@dataclass(frozen=True)
class SnapshotWeights:
    """Answered with `Weights` (with the latest gradient norms)."""


@dataclass(frozen=True)
class Probe:
    """Answered with a `ProbeResult` for `inputs` (B, 784) float32."""

    inputs: np.ndarray


Control = Pause | Resume | Step | Stop | SetLearningRate | SetSpeed
Query = SnapshotWeights | Probe
Command = Control | Query
Reply = Weights | ProbeResult


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None

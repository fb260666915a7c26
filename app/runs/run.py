"""One training run: its config, status, complete metric history and latest state.

The `Run` in the web process is the only owner of a run's status, history and progress: the
trainer (in a worker) only reports events, which `Run.record_*` record, and the run manager
decides the rest (queued, stopped, interrupted, failed when the worker died).

Threading: the run's reader thread (app/runs/local.py) is the only writer of the history and
the metric fields; the event loop, request threads and the flusher thread only read. The history
is four parallel lists appended in a fixed order (`accuracy` last), so a reader that takes
`n = len(accuracy)` first sees at least n complete points in every list: no lock on the hot path.

The history is bounded (review #16: `batch_size 1, report_every 1` made millions of points,
each WebSocket snapshot seconds of JSON): a run that would report more than MAX_POINTS points
merges each `stride` consecutive reports into one point (the mean cost and batch accuracy, at
the last step: as if it had reported every stride × report_every steps), so its curve keeps
its shape; an epoch's end, a pause, a stop or a single step still end a point there.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast, overload

import numpy as np

from app.data.datasets import class_names_of
from app.data.drawing_mix import DrawingCounts, DrawingSplit, epoch_size
from app.jsontypes import JSONObject
from app.nn.config import TrainConfig
from app.nn.network import Network
from app.nn.protocol import (
    ENDED_STATUSES,
    LIVE_STATUSES,
    EvaluationEvent,
    MetricsEvent,
    Probe,
    ProbeResult,
    SnapshotWeights,
    Status,
    Weights,
)
from app.runs.executor import (
    Download,
    NotReady,
    Placement,
    PlacementInfo,
    RunHandle,
    WorkerGone,
)
from app.runs.gallery import top_mistakes
from app.runs.info import (
    Evaluation,
    Latest,
    MetricPoints,
    Progress,
    ProgressState,
    RunDetail,
    RunInfo,
    StatusMessage,
)
from app.store.db import METRIC_KEYS, TEACHER_ID, StoredRun

LIVE = LIVE_STATUSES  # the vocabulary is declared in app/nn/protocol.py
ENDED = ENDED_STATUSES

TRAIN_IMAGES = 60_000
NOT_STARTED: ProgressState = {"step": 0, "epoch": 0.0, "samples_seen": 0, "eta_seconds": None}


def finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def config_to_json(config: TrainConfig, preset: str | None) -> JSONObject:
    """A run's config as the API and the store show it: TrainConfig's fields, and "preset"
    when the run started from one."""
    data = config.to_dict()
    if preset is not None:
        data["preset"] = preset
    return data


def config_from_json(data: JSONObject) -> tuple[TrainConfig, str | None]:
    """The inverse of `config_to_json` (for a stored run): options this version does not know
    are dropped, so an old database still loads."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    preset = data.get("preset")
    options = {key: value for key, value in data.items() if key in known}
    return TrainConfig.from_dict(options), preset if isinstance(preset, str) else None


# Seconds a request for weights or a probe may wait for the worker's answer.
REQUEST_TIMEOUT = 5.0
# Points a run's history aims to hold at most (see the module docstring); should a run report
# more than its config let us expect, the stride doubles every MAX_POINTS points.
MAX_POINTS = 20_000


@dataclass
class _Merge:
    """The reports of one history point still being merged (the reader thread's only)."""

    reports: int = 0
    step: int = 0
    epoch: float = 0.0
    costs: list[float] = field(default_factory=list)  # the finite ones
    diverged: bool = False  # a non-finite cost among them: the point's cost is None
    accuracy: float = 0.0  # the sum of the reports' batch accuracies

    def add(self, step: int, epoch: float, cost: float | None, accuracy: float) -> None:
        self.reports += 1
        self.step, self.epoch, self.accuracy = step, epoch, self.accuracy + accuracy
        if cost is None:
            self.diverged = True
        else:
            self.costs.append(cost)

    def point(self) -> tuple[int, float, float | None, float]:
        cost = None if self.diverged or not self.costs else sum(self.costs) / len(self.costs)
        return self.step, self.epoch, cost, self.accuracy / self.reports


@dataclass
class Run:
    id: str
    config: TrainConfig  # resolved and validated (app.presets)
    created: str
    preset: str | None = None  # the preset it started from, if one was named
    status: Status = "queued"
    reason: str | None = None
    started: str | None = None
    finished: str | None = None
    model_id: str | None = None
    owner: str = TEACHER_ID  # the Principal id of who started it (app/api/identity.py)

    # History, columnar (see the module docstring for the append order that makes reads safe).
    steps: list[int] = field(default_factory=list)
    epochs: list[float] = field(default_factory=list)
    costs: list[float | None] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    evaluations: list[Evaluation] = field(default_factory=list)

    latest: Latest | None = None
    progress_state: ProgressState | None = None
    download: tuple[int, int] | None = None
    predictions: np.ndarray | None = None
    confidence: np.ndarray | None = None
    queue_position: int | None = None  # 1 = next to start, while queued for a slot
    speed: float | None = None  # slow motion: mini-batches a second; None = full speed

    # Process-local machinery (none of it persisted).
    handle: RunHandle | None = None  # its worker, from launch until the run ends
    placement: Placement | None = None  # where its latest worker trained
    last_emitted_at: float | None = None  # Unix time the trainer emitted the newest point
    final_weights: Weights | None = None  # the weights it ended with (or its weight file's)
    stop_requested: bool = False
    shutting_down: bool = False
    # Paused so long that it gave its slot back: its worker ended after the manager wrote a
    # checkpoint; it stays `paused` and `resume` queues it for a slot again. `parking`: its
    # worker was told to end for that and has not yet: it still holds the slot.
    parked: bool = False
    parking: bool = False
    paused_since: float | None = None  # time.monotonic() of the latest pause
    resume_from: Weights | None = None  # the checkpoint its next worker continues from
    # finetune (issue 17 §2): the weights of `config.from_model` it starts from (until it has
    # a checkpoint), and its snapshot of labelled drawings (also in its runs-folder file).
    start_from: Weights | None = None
    drawing_split: DrawingSplit | None = None
    drawings: DrawingCounts | None = None  # how many train and are held out (RunInfo)
    persisted_points: int = 0
    # A learner id's current display name (the store owns names; they can change).
    owner_names: Callable[[str], str] = field(default=str, repr=False, compare=False)
    # Called on the reader thread for rare events (status, evaluation); the fan-out hub
    # installs a callback that hops onto the event loop. Never called for metrics.
    on_change: Callable[[str, Any], None] | None = None  # Any: the event's JSON payload
    _changed: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _merge: _Merge = field(default_factory=_Merge, repr=False)
    _merge_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _last_report_step: int = field(default=-1, repr=False)
    _base_stride: int = field(default=0, repr=False)  # points_stride's, from the config
    _cached: Weights | None = field(default=None, repr=False)
    _final_network: Network | None = field(default=None, repr=False)

    # -- derived --------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        return self.status in LIVE

    def config_json(self) -> JSONObject:
        return config_to_json(self.config, self.preset)

    def total_samples(self) -> int:
        config = self.config
        train = TRAIN_IMAGES - config.validation_size
        subset = config.train_subset
        if subset:
            train = min(train, subset)
        drawings = self.drawings["train"] if self.drawings is not None else 0
        _, per_epoch = epoch_size(
            config.data, config.batch_size, config.drawings_fraction, max(train, 0), drawings
        )
        return per_epoch * config.epochs

    def current_step(self) -> int:
        state = self.progress_state
        return int(state["step"]) if state else -1

    def progress(self) -> Progress:
        state = self.progress_state or NOT_STARTED
        total = self.total_samples()
        seen = int(state["samples_seen"])
        if self.status == "finished":
            seen = max(seen, total)
        return {
            "step": int(state["step"]),
            "epoch": float(state["epoch"]),
            "epochs": self.config.epochs,
            "samples_seen": seen,
            "total_samples": total,
            "fraction": min(1.0, seen / total) if total else 0.0,
            "eta_seconds": state["eta_seconds"] if self.live else None,
        }

    def where(self) -> PlacementInfo | None:
        handle = self.handle
        if handle is not None:
            self.placement = handle.placement() or self.placement
        return self.placement.to_dict() if self.placement is not None else None

    def history_length(self) -> int:
        return len(self.accuracies)

    def points(self, start: int, end: int | None = None) -> MetricPoints:
        end = self.history_length() if end is None else end
        return {
            "step": self.steps[start:end],
            "epoch": self.epochs[start:end],
            "cost": self.costs[start:end],
            "accuracy": self.accuracies[start:end],
        }

    @overload
    def info(self, *, history: Literal[False]) -> RunInfo: ...
    @overload
    def info(self, *, history: Literal[True]) -> RunDetail: ...
    def info(self, *, history: bool) -> RunInfo | RunDetail:
        """The run's public shape (app/runs/info.py), with its whole history or without."""
        info: RunInfo = {
            "id": self.id,
            "status": self.status,
            "config": self.config_json(),
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "reason": self.reason,
            "model_id": self.model_id,
            "owner": self.owner,
            "owner_name": self.owner_names(self.owner),
            "queue_position": self.queue_position,
            "speed": self.speed,
            "parked": self.parked,
            "best_test_accuracy": self.best_test_accuracy(),
            "placement": self.where(),
            "progress": self.progress(),
            "latest": self.latest,
            "drawings": self.drawings,
        }
        if not history:
            return info
        metrics, evaluations = self.points(0), list(self.evaluations)
        return {**info, "history": {"metrics": metrics, "evaluations": evaluations}}

    # -- the trainer's events (on the reader thread) ----------------------------------------

    def record_metrics(self, event: MetricsEvent) -> None:
        """The hot path (every `report_every` steps): appends and a few assignments, no I/O."""
        cost = finite_or_none(event.cost)
        accuracy = float(event.batch_accuracy)
        self.last_emitted_at = float(event.emitted_at)
        step, epoch = int(event.step), round(float(event.epoch), 5)
        stride = self.points_stride()
        if stride == 1 and not self._merge.reports:
            self._append_point(step, epoch, cost, accuracy)
        else:
            # A report of fewer steps than report_every (a pause, stop, single step or slow
            # motion) or an epoch's end closes the point: the curve has a point there.
            early = step - self._last_report_step < self.config.report_every
            with self._merge_lock:
                self._merge.add(step, epoch, cost, accuracy)
                if self._merge.reports >= stride or early or event.epoch_fraction >= 1.0:
                    self._close_point()
        self._last_report_step = step
        self.latest = {
            "cost": cost,
            "batch_accuracy": accuracy,
            "samples_per_second": finite_or_none(event.samples_per_second),
            "learning_rate": finite_or_none(event.learning_rate),
        }
        self.progress_state = {
            "step": int(event.step),
            "epoch": float(event.epoch),
            "samples_seen": int(event.samples_seen),
            "eta_seconds": finite_or_none(event.eta_seconds),
        }

    def points_stride(self) -> int:
        """Reports merged into one history point (1: every report is a point)."""
        if not self._base_stride:
            config = self.config
            steps = math.ceil(self.total_samples() / max(config.epochs, 1) / config.batch_size)
            expected = math.ceil(steps / config.report_every) * config.epochs
            self._base_stride = max(1, math.ceil(expected / MAX_POINTS))
        doublings = self.history_length() // MAX_POINTS  # more than the config let us expect
        return self._base_stride << doublings

    def _append_point(self, step: int, epoch: float, cost: float | None, accuracy: float) -> None:
        self.steps.append(step)
        self.epochs.append(epoch)
        self.costs.append(cost)
        self.accuracies.append(accuracy)  # last: readers size their slices on this list

    def _close_point(self) -> None:
        """Append the point being merged, if any (under _merge_lock)."""
        if self._merge.reports:
            self._append_point(*self._merge.point())
            self._merge = _Merge()

    def flush_points(self) -> None:
        """End the point being merged now (the run ended or stopped reporting: its last
        reports must not be lost)."""
        with self._merge_lock:
            self._close_point()

    def record_evaluation(
        self, event: EvaluationEvent, test_labels: np.ndarray | None
    ) -> Evaluation:
        predictions = np.asarray(event.test_predictions)
        confidence = np.asarray(event.test_confidence, dtype=np.float32)
        mistakes = (
            top_mistakes(predictions, confidence, test_labels)
            if test_labels is not None and len(test_labels) == len(predictions)
            else []
        )
        evaluation: Evaluation = {
            "epoch": int(event.epoch),
            "step": int(event.step),
            "validation_accuracy": finite_or_none(event.validation_accuracy),
            "test_accuracy": finite_or_none(event.test_accuracy),
            "confusion": [[int(v) for v in row] for row in event.confusion],
            "mistakes": mistakes,
            "class_names": list(class_names_of(self.config.dataset)),  # fashion (issue 17 §3)
            "drawings_accuracy": finite_or_none(event.drawings_accuracy),  # finetune (§2)
        }
        self.predictions = predictions.astype(np.uint8)
        self.confidence = confidence
        self.evaluations.append(evaluation)
        return evaluation

    def record_download(self, event: Download) -> None:
        if self.status == "queued":
            self.set_status("downloading")
        self.download = (event.done, event.total)

    def set_status(self, status: Status, reason: str | None = None) -> bool:
        """Change the status; True when it changed (so listeners hear each change once)."""
        if status != "running":
            self.flush_points()  # a diverged run's last reports end its curve
        with self._changed:
            if status == self.status and reason == self.reason:
                return False
            self.status = status
            self.reason = reason
            self._changed.notify_all()
        if self.on_change is not None:
            self.on_change("status", self.status_message())
        return True

    def status_message(self) -> StatusMessage:
        return {
            "status": self.status,
            "reason": self.reason,
            "queue_position": self.queue_position,
            "speed": self.speed,
            "placement": self.where(),
        }

    def best_test_accuracy(self) -> float | None:
        """The best test accuracy of its evaluations so far (None before the first)."""
        accuracies = [e["test_accuracy"] for e in self.evaluations]
        known = [a for a in accuracies if a is not None]
        return max(known) if known else None

    def set_speed(self, batches_per_second: float | None) -> None:
        """Record the speed the worker was told; watchers hear it in a status message."""
        if batches_per_second != self.speed:
            self.speed = batches_per_second
            if self.on_change is not None:
                self.on_change("status", self.status_message())

    def set_queue_position(self, position: int | None) -> None:
        if position != self.queue_position:
            self.queue_position = position
            if self.on_change is not None:
                self.on_change("status", self.status_message())

    def prepare_resume(self, weights: Weights) -> None:
        """Before a parked, interrupted or failed run is queued again to continue from
        `weights` (its checkpoint): forget how it ended and any cached weights."""
        self.parked = self.parking = False
        self.resume_from = weights
        self.stop_requested = self.shutting_down = False
        self.finished = None
        self.paused_since = None
        self._cached = self._final_network = None

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until `predicate()` holds after a status change, or `timeout` seconds pass."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    # -- weights, from the worker while it trains -----------------------------------------

    def weights(self) -> Weights | None:
        """The current weights (asked from the worker), the final ones, or None before
        training has begun."""
        handle, cached = self.handle, self._cached
        if handle is None or not self.live:
            return self.final_weights
        if cached is not None and self.status != "running" and cached.step == self.current_step():
            return cached  # paused: the weights have not moved since the last answer
        try:
            reply = handle.request(SnapshotWeights(), REQUEST_TIMEOUT)
        except NotReady:
            return None
        except (WorkerGone, TimeoutError):
            handle.join(REQUEST_TIMEOUT)  # it has just ended: its final weights are on the way
            return self.final_weights or cached
        if isinstance(reply, Weights):
            self._cached = reply
            return reply
        return cached

    def network(self) -> Network | None:
        weights = self.weights()
        return weights.network() if weights is not None else None

    def probe(self, inputs: np.ndarray) -> ProbeResult | None:
        """Every layer of the network for `inputs` (B, 784): in the worker while it trains."""
        handle = self.handle
        if handle is not None and self.live:
            try:
                reply = handle.request(Probe(inputs), REQUEST_TIMEOUT)
                if isinstance(reply, ProbeResult):
                    return reply
            except NotReady:
                return None
            except (WorkerGone, TimeoutError):
                handle.join(REQUEST_TIMEOUT)
        final = self.final_weights
        if final is None:
            return None
        if self._final_network is None:
            self._final_network = final.network()
        forward = self._final_network.forward(inputs)
        return ProbeResult(final.step, forward.zs, forward.activations[1:])

    # -- persistence ----------------------------------------------------------------------

    @classmethod
    def from_stored(cls, stored: StoredRun) -> Run:
        """A run from its record; the store holds what `info` and the events made (JSON)."""
        config, preset = config_from_json(stored.config)
        run = cls(
            id=stored.id,
            config=config,
            preset=preset,
            created=stored.created,
            status=stored.status,  # type: ignore[arg-type]  # the store holds Status values
            reason=stored.reason,
            started=stored.started,
            finished=stored.finished,
            model_id=stored.model_id,
            owner=stored.owner,
            latest=cast(Latest | None, stored.latest),
            progress_state=cast(ProgressState | None, stored.progress),
            evaluations=cast(list[Evaluation], stored.evaluations),
        )
        for evaluation in run.evaluations:  # stored before runs had drawings
            evaluation.setdefault("drawings_accuracy", None)
        m = stored.metrics
        n = min(len(m[k]) for k in METRIC_KEYS)
        run.steps, run.epochs = m["step"][:n], m["epoch"][:n]
        run.costs, run.accuracies = m["cost"][:n], m["accuracy"][:n]
        run.persisted_points = n
        if stored.predictions and stored.confidence:
            run.predictions = np.frombuffer(stored.predictions, dtype=np.uint8).copy()
            run.confidence = np.frombuffer(stored.confidence, dtype=np.float32).copy()
        return run

"""The class dashboard's picture of every run: a small summary per run, a short smoothed
accuracy curve, and the leaderboard (issue 16, section 2).

Pure functions and one small state class, no I/O: app/api/class_feed.py calls `Board.refresh`
every few hundred milliseconds and sends what changed. A summary is built from the run's
public shape (`Run.info`), so the owner's current name (which the store owns) comes as RunInfo
has it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from app.jsontypes import JSONObject
from app.nn.config import parameter_count
from app.runs.run import Run

CURVE_POINTS = 60  # at most about this many points in a run's small curve
ModelName = Callable[[str], str | None]  # a saved model's name by id (None: gone)
Roster = Callable[[], list[JSONObject]]  # every learner as {"id", "name"} (class mode)
LEADERBOARD_SIZE = 50  # rows of each leaderboard
FULL_EVERY = 20  # every so many refreshes, ended runs are summarised again (a renamed owner)


def _round(value: object, digits: int) -> float | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    number = float(value)
    return round(number, digits) if math.isfinite(number) else None


def total_steps(run: Run) -> int:
    """How many mini-batches the whole run takes (the curve's x axis ends there)."""
    config = run.config
    epochs = max(config.epochs, 1)
    per_epoch = run.total_samples() // epochs
    return max(1, math.ceil(per_epoch / max(config.batch_size, 1)) * epochs)


def summarise(run: Run, model_name: ModelName = lambda _: None) -> JSONObject:
    """What the dashboard shows of one run (without its curve), rounded so that a summary
    only changes when something visible does; `model_name` names the model it was saved as."""
    info = run.info(history=False)
    config = info["config"]
    sizes = run.config.sizes()
    latest: Mapping[str, object] = info["latest"] or {}
    progress = info["progress"]
    placement = info["placement"]
    return {
        "id": run.id,
        "owner": info["owner"],
        "owner_name": info["owner_name"],
        "status": info["status"],
        "reason": info["reason"],
        "queue_position": info["queue_position"],
        "created": info["created"],
        "model_id": info["model_id"],
        "model_name": model_name(run.model_id) if run.model_id else None,
        "config": config,
        "sizes": sizes,
        "parameters": parameter_count(sizes),
        "progress": _round(progress["fraction"], 3),
        "epoch": _round(progress["epoch"], 2),
        "epochs": progress["epochs"],
        "total_steps": total_steps(run),
        "accuracy": _round(latest.get("batch_accuracy"), 3),
        "samples_per_second": _round(latest.get("samples_per_second"), -1),
        "best_test_accuracy": _round(info["best_test_accuracy"], 4),
        "placement": placement,
    }


@dataclass
class Curve:
    """A run's small curve: the mean batch accuracy of each bucket of `every` consecutive
    history points, as [step, accuracy] pairs; `upto` is the first history index not yet in a
    point (a bucket becomes a point once it is complete, or when the run has ended)."""

    every: int
    points: list[list[float]] = field(default_factory=list)
    upto: int = 0

    @classmethod
    def for_run(cls, run: Run) -> Curve:
        expected = total_steps(run) / max(run.config.report_every, 1)
        return cls(every=max(1, math.ceil(expected / CURVE_POINTS)))

    def advance(self, run: Run) -> list[list[float]]:
        """The points that became complete since the last call (appended to `points`)."""
        end = run.history_length()  # first: every list holds at least `end` points
        steps, accuracies = run.steps, run.accuracies
        new: list[list[float]] = []
        while self.upto + self.every <= end or (not run.live and self.upto < end):
            stop = min(self.upto + self.every, end)
            bucket = accuracies[self.upto : stop]
            new.append([steps[stop - 1], round(sum(bucket) / len(bucket), 4)])
            self.upto = stop
        self.points.extend(new)
        return new


def _rank_key(entry: JSONObject) -> tuple[float, int, str]:
    # Best accuracy first; at equal accuracy the smaller network; then the earlier run.
    return (-float(entry["accuracy"]), int(entry["parameters"]), str(entry["created"]))


def leaderboard(summaries: Iterable[JSONObject]) -> JSONObject:
    """The best test accuracy per learner and per architecture (the layer sizes), best first,
    each with the run that reached it and its parameter count."""
    by_learner: dict[str, JSONObject] = {}
    by_sizes: dict[tuple[int, ...], JSONObject] = {}
    counts: dict[tuple[int, ...], int] = {}
    for s in summaries:
        accuracy = s["best_test_accuracy"]
        if accuracy is None:
            continue
        entry: JSONObject = {
            "run_id": s["id"],
            "owner": s["owner"],
            "owner_name": s["owner_name"],
            "accuracy": accuracy,
            "sizes": s["sizes"],
            "parameters": s["parameters"],
            "created": s["created"],
        }
        sizes = tuple(s["sizes"])
        counts[sizes] = counts.get(sizes, 0) + 1
        mine, same = by_learner.get(s["owner"]), by_sizes.get(sizes)
        if mine is None or _rank_key(entry) < _rank_key(mine):
            by_learner[s["owner"]] = entry
        if same is None or _rank_key(entry) < _rank_key(same):
            by_sizes[sizes] = entry
    learners = sorted(by_learner.values(), key=_rank_key)[:LEADERBOARD_SIZE]
    architectures = [
        {**entry, "runs": counts[tuple(entry["sizes"])]}
        for entry in sorted(by_sizes.values(), key=_rank_key)[:LEADERBOARD_SIZE]
    ]
    return {"learners": learners, "architectures": architectures}


@dataclass
class Changes:
    """What one refresh found: summaries that changed, new curve points, runs gone."""

    runs: list[JSONObject]
    curves: dict[str, list[list[float]]]
    removed: list[str]
    leaderboard: JSONObject | None  # None: unchanged
    learners: list[JSONObject] | None = None  # None: unchanged

    def __bool__(self) -> bool:
        return bool(
            self.runs
            or self.curves
            or self.removed
            or self.leaderboard is not None
            or self.learners is not None
        )


class Board:
    """The last summaries sent, per run id, and each run's curve; `refresh` finds the changes."""

    def __init__(self, model_name: ModelName = lambda _: None, roster: Roster = list) -> None:
        self.model_name = model_name
        self.roster = roster
        self.learners: list[JSONObject] = []
        self.summaries: dict[str, JSONObject] = {}
        self.curves: dict[str, Curve] = {}
        self.runs: dict[str, Run] = {}
        self.board: JSONObject = {"learners": [], "architectures": []}
        self.refreshes = 0

    def refresh(self, runs: Iterable[Run]) -> Changes:
        self.refreshes += 1
        full = self.refreshes % FULL_EVERY == 0
        current = {run.id: run for run in runs}
        removed = [rid for rid in self.summaries if rid not in current]
        for rid in removed:
            self.summaries.pop(rid, None)
            self.curves.pop(rid, None)
            self.runs.pop(rid, None)
        changed: list[JSONObject] = []
        curves: dict[str, list[list[float]]] = {}
        for rid, run in current.items():
            if self.runs.get(rid) is not run:  # new (or replaced): start its curve again
                self.runs[rid] = run
                self.curves[rid] = Curve.for_run(run)
                self.summaries.pop(rid, None)
            previous = self.summaries.get(rid)
            if previous is not None and not full and _settled(run, previous):
                continue  # an ended run that has not changed: nothing to build again
            summary = summarise(run, self.model_name)
            if summary != previous:
                self.summaries[rid] = summary
                changed.append(summary)
            new_points = self.curves[rid].advance(run)
            if new_points:
                curves[rid] = new_points
        board = leaderboard(self.summaries.values())
        board_changed = board != self.board
        self.board = board
        learners = self.roster()
        learners_changed = learners != self.learners
        self.learners = learners
        return Changes(
            changed,
            curves,
            removed,
            board if board_changed else None,
            learners if learners_changed else None,
        )

    def snapshot(self) -> JSONObject:
        """Everything, for a dashboard that has just connected (after a refresh)."""
        runs = [
            {**summary, "curve": self.curves[rid].points} for rid, summary in self.summaries.items()
        ]
        return {
            "type": "snapshot",
            "runs": runs,
            "leaderboard": self.board,
            "learners": self.learners,
        }


def _settled(run: Run, summary: JSONObject) -> bool:
    """An ended run whose summary (and complete curve) is still what was sent: the only things
    that change on an ended run are its status (resumed) and its saved model (and the names of
    its owner and model, which `Board.refresh` picks up on every FULL_EVERY-th refresh)."""
    return not run.live and summary["status"] == run.status and summary["model_id"] == run.model_id


def update_message(changes: Changes) -> JSONObject:
    message: JSONObject = {"type": "update", "runs": changes.runs, "curves": changes.curves}
    if changes.removed:
        message["removed"] = changes.removed
    if changes.leaderboard is not None:
        message["leaderboard"] = changes.leaderboard
    if changes.learners is not None:
        message["learners"] = changes.learners
    return message

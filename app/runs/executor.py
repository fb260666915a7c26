"""Where runs train: the executor interface, and the messages that cross it.

The web process never trains. It hands a `Job` to an `Executor`, which trains it somewhere
else (`local`: a worker process of this machine, see app/runs/local.py; `ray`: an actor on a
Ray cluster, see app/runs/ray_executor.py) and calls back with
`WorkerMessage`s on a thread of its own. The run manager controls the job through the
`RunHandle` it got back: `send` a control command (fire and forget; the outcome arrives as a
`StatusEvent`), or `request` a reply (weights, a probe) and wait for it.

Message order is the trainer's order: every event a worker emits before `Ended` arrives before
it, and exactly one `Ended` or `WorkerDied` is the last message of a job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal, Protocol, get_args

from pydantic import Field
from typing_extensions import TypedDict  # pydantic reads it as a schema (Python < 3.12)

from app.data.drawing_mix import DrawingSplit
from app.data.mnist import DataSource as DataSource  # a Job carries it
from app.nn.config import TrainConfig
from app.nn.protocol import (
    Control,
    Query,
    Reply,
    Status,
    TrainerEvent,
    Weights,
)

ExecutorName = Literal["local", "ray"]  # the choices of NNP_EXECUTOR
EXECUTORS: tuple[ExecutorName, ...] = get_args(ExecutorName)


@dataclass(frozen=True)
class Job:
    run_id: str
    config: TrainConfig
    data: DataSource
    checkpoint_seconds: float = 30.0  # a checkpoint every epoch and at least this often
    # Continue from these weights, after `resume.step` steps (a parked, interrupted or failed
    # run resumed from its checkpoint); None: a new run.
    resume: Weights | None = None
    # A new run's first weights: the model of `config.from_model` (issue 17 §2); None: fresh
    # ones from the seed. (`resume` wins: a resumed run continues from its checkpoint.)
    start: Weights | None = None
    # The run's snapshot of labelled drawings, split once by the manager (our own arrays: they
    # travel in the job, pickled by multiprocessing or Ray like the weights).
    drawings: DrawingSplit | None = None


class PlacementInfo(TypedDict):
    """A `Placement` as the API shows it."""

    executor: ExecutorName
    pid: Annotated[int | None, Field(description="the worker process, on its node")]
    node_id: Annotated[
        str | None, Field(description="the Ray node's id; null on the local executor")
    ]
    node_ip: Annotated[
        str | None, Field(description="the Ray node's address; null on the local executor")
    ]
    description: Annotated[
        str, Field(description='e.g. "worker process 4242 on the server\'s machine"')
    ]


@dataclass(frozen=True)
class Placement:
    """Where a job trains."""

    executor: ExecutorName
    pid: int | None  # the worker process (on its node)
    node_id: str | None = None  # the Ray node (hex id); None on the local executor
    node_ip: str | None = None

    def describe(self) -> str:
        if self.node_id is None:
            return f"worker process {self.pid} on the server's machine"
        return f"Ray node {self.node_id[:12]} at {self.node_ip} (worker process {self.pid})"

    def to_dict(self) -> PlacementInfo:
        return {
            "executor": self.executor,
            "pid": self.pid,
            "node_id": self.node_id,
            "node_ip": self.node_ip,
            "description": self.describe(),
        }


# ---- messages from a worker, besides the trainer's own events ---------------------------------


@dataclass
class Download:
    """The run's dataset's download progress (MNIST or another of the registry), in bytes."""

    done: int
    total: int


@dataclass
class Ended:
    """The trainer's final word: its last status and the weights it ended with."""

    status: Status
    reason: str | None
    weights: Weights | None  # None when training never began (e.g. MNIST was unavailable)


@dataclass
class WorkerDied:
    """The worker went away without `Ended` (killed, crashed): said by the executor."""

    reason: str


WorkerMessage = TrainerEvent | Download | Ended | WorkerDied


class WorkerGone(RuntimeError):
    """A request could not be answered: the worker has ended."""


class NotReady(RuntimeError):
    """A request could not be answered yet: the worker has not started training."""


class ExecutorUnavailable(RuntimeError):
    """The executor cannot take a job now (e.g. the Ray cluster is unreachable); the message
    names where it tried."""


class RunHandle(Protocol):
    """One job while it trains."""

    def send(self, command: Control) -> None:
        """Deliver a control command; silently dropped once the job has ended."""

    def request(self, query: Query, timeout: float) -> Reply:
        """Ask and wait for the answer; WorkerGone if the job ended, NotReady before it
        trains, TimeoutError after `timeout` seconds."""

    def alive(self) -> bool:
        """Whether the job's worker still exists."""

    def kill(self) -> None:
        """End the worker at once (its messages end with `WorkerDied`)."""

    def join(self, timeout: float) -> bool:
        """Wait until the worker has exited and its last message was delivered."""

    def placement(self) -> Placement | None:
        """Where the job trains; None until it is known (a Ray actor being placed)."""


class Executor(Protocol):
    name: ExecutorName

    def capacity(self) -> int:
        """How many jobs can train at once (the manager's default number of slots)."""

    def check(self) -> None:
        """Raise ExecutorUnavailable when a job started now could not train."""

    def start(self, job: Job, on_message: Callable[[WorkerMessage], None]) -> RunHandle:
        """Start training `job`; `on_message` is called on an executor thread, in order."""

    def close(self) -> None:
        """Release what the executor holds (after every job has ended)."""

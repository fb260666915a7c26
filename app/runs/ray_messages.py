"""The messages on the pipe between the web process and the Ray bridge process (see
app/runs/ray_executor.py for the protocol, app/runs/ray_bridge.py for the bridge), with the
run's id on every one. Both sides import them from here, so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass

from app.nn.protocol import Control, Query, Reply
from app.runs.executor import Job, Placement, WorkerMessage


@dataclass(frozen=True)
class Open:
    job: Job


@dataclass(frozen=True)
class ForRun:
    """A message about one run (the bridge keeps one actor per run id)."""

    run_id: str


@dataclass(frozen=True)
class Command(ForRun):
    command: Control


@dataclass(frozen=True)
class Ask(ForRun):
    request_id: int
    query: Query
    timeout: float


@dataclass(frozen=True)
class Kill(ForRun):
    pass


@dataclass(frozen=True)
class Capacity:
    cpus: int  # the cluster's CPUs: one run each


@dataclass(frozen=True)
class Connected(Capacity):
    """The bridge has joined the cluster (and says its first Capacity)."""


@dataclass(frozen=True)
class ConnectFailed:
    reason: str


@dataclass(frozen=True)
class Placed(ForRun):
    placement: Placement


@dataclass(frozen=True)
class Batch(ForRun):
    messages: list[WorkerMessage]


@dataclass(frozen=True)
class Replied(ForRun):
    request_id: int
    reply: Reply | None
    error: str | None  # NotReady's message when reply is None


@dataclass(frozen=True)
class Closed(ForRun):
    reason: str | None  # why it died without `Ended` (None: it ended normally)


ToBridge = Open | Command | Ask | Kill
FromBridge = Connected | ConnectFailed | Capacity | Placed | Batch | Replied | Closed

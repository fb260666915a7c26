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
class Command:
    run_id: str
    command: Control


@dataclass(frozen=True)
class Ask:
    run_id: str
    request_id: int
    query: Query
    timeout: float


@dataclass(frozen=True)
class Kill:
    run_id: str


@dataclass(frozen=True)
class Connected:
    cpus: int  # the cluster's CPUs: one run each


@dataclass(frozen=True)
class ConnectFailed:
    reason: str


@dataclass(frozen=True)
class Capacity:
    cpus: int


@dataclass(frozen=True)
class Placed:
    run_id: str
    placement: Placement


@dataclass(frozen=True)
class Batch:
    run_id: str
    messages: list[WorkerMessage]


@dataclass(frozen=True)
class Replied:
    run_id: str
    request_id: int
    reply: Reply | None
    error: str | None  # NotReady's message when reply is None


@dataclass(frozen=True)
class Closed:
    run_id: str
    reason: str | None  # why it died without `Ended` (None: it ended normally)


ToBridge = Open | Command | Ask | Kill
FromBridge = Connected | ConnectFailed | Capacity | Placed | Batch | Replied | Closed

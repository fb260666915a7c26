"""The messages on the pipe between the web process and the Ray bridge process (see
app/runs/ray_executor.py for the protocol, app/runs/ray_bridge.py for the bridge), with the
run's id on every one. Both sides import them from here, so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import dataclass_transform

from app.nn.protocol import Control, Query, Reply
from app.runs.executor import Job, Placement, WorkerMessage


@dataclass_transform(frozen_default=True)
class Message:
    """A message on the pipe: each subclass is a frozen dataclass of its fields, declared
    once (no decorator to repeat on each)."""

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        dataclass(frozen=True)(cls)


class Open(Message):
    job: Job


class ForRun(Message):
    """A message about one run (the bridge keeps one actor per run id)."""

    run_id: str


class ForRequest(ForRun):
    """A question to a run's actor, or its answer: `request_id` pairs them (app/runs/replies.py)."""

    request_id: int


class Command(ForRun):
    command: Control


class Ask(ForRequest):
    query: Query
    timeout: float


class Kill(ForRun):
    pass


class Capacity(Message):
    cpus: int  # the cluster's CPUs: one run each


class Connected(Capacity):
    """The bridge has joined the cluster (and says its first Capacity)."""


class ConnectFailed(Message):
    reason: str


class Placed(ForRun):
    placement: Placement


class Batch(ForRun):
    messages: list[WorkerMessage]


class Replied(ForRequest):
    reply: Reply | None
    error: str | None  # NotReady's message when reply is None


class Closed(ForRun):
    reason: str | None  # why it died without `Ended` (None: it ended normally)


ToBridge = Open | Command | Ask | Kill
FromBridge = Connected | ConnectFailed | Capacity | Placed | Batch | Replied | Closed

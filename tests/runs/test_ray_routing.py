"""The web side of the ray executor routes the bridge's messages to runs by id (no Ray needed)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from app.runs.executor import WorkerDied, WorkerMessage
from app.runs.ray_executor import RayHandle, _Bridge
from app.runs.ray_messages import Closed


def test_a_run_resumed_as_it_hears_its_actor_died_keeps_its_new_actor() -> None:
    """A run that hears its actor died may be resumed at once, under the same id; the bridge
    must then route to the new actor's handle (forgetting the new one left the resumed run
    deaf: it never finished)."""
    bridge = _Bridge.__new__(_Bridge)  # its routing only: no bridge process
    bridge.handles = {}
    bridge._lock = threading.Lock()
    bridge._closing = False
    bridge.send = lambda message: True  # type: ignore[method-assign]
    job = SimpleNamespace(run_id="r_1")
    heard: list[WorkerMessage] = []
    resumed: list[RayHandle] = []

    def on_message(message: WorkerMessage) -> None:
        heard.append(message)
        if isinstance(message, WorkerDied):  # the manager resumes it right away
            resumed.append(bridge.open(job, heard.append))  # type: ignore[arg-type]

    old = bridge.open(job, on_message)  # type: ignore[arg-type]
    bridge._route(Closed("r_1", "the Ray worker process died"))
    assert [type(m) for m in heard] == [WorkerDied] and not old.alive()
    assert bridge.handles == {"r_1": resumed[0]} and resumed[0].alive()

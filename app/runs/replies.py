"""Request/reply matching for a run's handle, on either executor: each request gets an id, its
caller waits for the reply with that id, and every waiting caller hears when the worker is gone.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from app.nn.protocol import Reply
from app.runs.executor import NotReady, WorkerGone

NOT_TRAINING = "the run has not started training yet"


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    reply: Reply | None = None
    error: str | None = None  # NotReady's message, or "timeout: ..." (the far side gave up)
    gone: bool = False


class Replies:
    """The requests of one handle waiting for their replies. `worker` names the far side in
    error messages ("worker", "actor")."""

    def __init__(self, worker: str) -> None:
        self.gone_message = f"the run's {worker} has ended"
        self._worker = worker
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)

    def ask(self, send: Callable[[int], bool], timeout: float, grace: float = 0.0) -> Reply:
        """Send a request with a new id (`send(id)`: False when it could not be sent) and wait
        up to `timeout` + `grace` seconds for its reply. WorkerGone, NotReady, TimeoutError."""
        request_id = next(self._ids)
        pending = self._pending[request_id] = _Pending()
        try:
            if not send(request_id):
                raise WorkerGone(self.gone_message)
            if not pending.done.wait(timeout + grace):
                raise TimeoutError(f"the run's {self._worker} did not answer within {timeout} s")
        finally:
            self._pending.pop(request_id, None)
        if pending.reply is not None:
            return pending.reply
        if pending.gone:
            raise WorkerGone(self.gone_message)
        if pending.error is not None and pending.error.startswith("timeout"):
            raise TimeoutError(pending.error)
        raise NotReady(pending.error or NOT_TRAINING)

    def answer(self, request_id: int, reply: Reply | None, error: str | None) -> None:
        """The reply (or NotReady's message) to request `request_id` has arrived."""
        pending = self._pending.get(request_id)
        if pending is not None:
            pending.reply, pending.error = reply, error
            pending.done.set()

    def close(self) -> None:
        """The worker is gone: every waiting request ends with WorkerGone."""
        for pending in list(self._pending.values()):
            pending.gone = True
            pending.done.set()

"""A WebSocket watcher of a run on a real server, in a thread of its own."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from websockets.sync.client import connect

ENDED = {"finished", "stopped", "diverged", "failed", "interrupted"}


class Watcher(threading.Thread):
    """Collects every message of /api/runs/{id}/events until the run ends; `lags` holds how
    long after the trainer emitted them its metrics arrived (seconds)."""

    def __init__(self, base: str, run_id: str) -> None:
        super().__init__(daemon=True)
        self.url = base.replace("http", "ws", 1) + f"/api/runs/{run_id}/events"
        self.messages: list[dict[str, Any]] = []
        self.lags: list[float] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with connect(self.url, open_timeout=30) as ws:
                while True:
                    message = json.loads(ws.recv(timeout=120))
                    if message["type"] == "metrics" and message.get("emitted_at"):
                        self.lags.append(time.time() - message["emitted_at"])
                    self.messages.append(message)
                    if message["type"] == "status" and message["status"] in ENDED:
                        return
        except BaseException as error:  # reported by the test
            self.error = error

    def steps(self) -> list[int]:
        """The snapshot's steps followed by every metrics message's."""
        snapshot = self.messages[0]
        assert snapshot["type"] == "snapshot"
        steps = list(snapshot["run"]["history"]["metrics"]["step"])
        for message in self.messages[1:]:
            if message["type"] == "metrics":
                steps += message["points"]["step"]
        return steps

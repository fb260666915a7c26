"""The live feed of WebSocket /api/class/events (issue 16, section 2).

Every client gets the `config` message (the teacher's pushed config) on connect and whenever
the teacher pushes or withdraws one. The teacher's dashboard also gets a `snapshot` of every
run on connect, then `update` messages with only what changed.

Why it is built this way: with 30 learners training on a 2-core server, the dashboard must
not cost the server what it watches. So one task per server (not per run, not per client)
polls the RunManager's runs every REFRESH_INTERVAL seconds, summarises them
(app/api/class_board.py) and serialises one `update` of what changed, which every teacher
socket gets as the same text; a run's status change reaches the dashboard within one
interval. It never hooks a run's own event stream (`Run.on_change` belongs to its fan-out
hub), and it only runs while a dashboard is connected. Each client has a bounded queue
(app/runs/fanout.Watcher): one that falls MAX_QUEUE messages behind is dropped and its socket
closed, so a slow projector never holds memory or the loop.

All methods run on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.api.class_board import Board, ModelName, Roster, update_message
from app.api.class_config import PushedConfig
from app.jsontypes import JSONObject
from app.runs.fanout import Watcher, dumps
from app.runs.manager import RunManager

log = logging.getLogger(__name__)

REFRESH_INTERVAL = 0.25  # seconds between two summaries of the runs (status lag ≤ this)


class ClassFeed:
    def __init__(
        self,
        runs: RunManager,
        config: PushedConfig,
        model_name: ModelName = lambda _: None,
        roster: Roster = list,
        interval: float = REFRESH_INTERVAL,
    ) -> None:
        self.runs = runs
        self.config = config
        self.interval = interval
        self.board = Board(model_name, roster)
        self.teachers: set[Watcher] = set()  # they get the runs
        self.others: set[Watcher] = set()  # only the config
        self.ticker: asyncio.Task[None] | None = None

    def add(self, watcher: Watcher, *, runs: bool) -> None:
        """Register a client: the config first, then (with `runs`) the snapshot."""
        watcher.push(dumps(self.config.message()))
        if runs:
            self.refresh()  # the others hear what changed up to now; the snapshot is current
            watcher.push(dumps(self.board.snapshot()))
            self.teachers.add(watcher)
            if self.ticker is None or self.ticker.done():
                self.ticker = asyncio.get_running_loop().create_task(self._tick_loop())
        else:
            self.others.add(watcher)
        watcher.task = asyncio.get_running_loop().create_task(watcher.run_sender())

    async def remove(self, watcher: Watcher) -> None:
        self.teachers.discard(watcher)
        self.others.discard(watcher)
        await watcher.stop()

    def push_config(self, message: JSONObject) -> None:
        """Send a new `config` message to every client."""
        text = dumps(message)
        for watcher in (*self.teachers, *self.others):
            watcher.push(text)

    def refresh(self) -> None:
        """Summarise the runs and send the teachers what changed (nothing when nothing did)."""
        changes = self.board.refresh(self.runs.list())
        if not changes or not self.teachers:
            return
        text = dumps(update_message(changes))
        for watcher in self.teachers:
            watcher.push(text)

    async def _tick_loop(self) -> None:
        while self.teachers:
            await asyncio.sleep(self.interval)
            for gone in [w for w in (*self.teachers, *self.others) if w.closed.is_set()]:
                self.teachers.discard(gone)
                self.others.discard(gone)
            try:
                self.refresh()
            except Exception:  # a bug here must not end the dashboard's feed silently
                log.exception("the class dashboard's feed failed")

    async def close(self) -> None:
        for watcher in [*self.teachers, *self.others]:
            await self.remove(watcher)
        if self.ticker is not None:
            self.ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.ticker

"""Live events of a run, fanned out to its WebSocket watchers without slowing training.

Why it is built this way: the web process is shared by every run's reader thread, the
requests and the watchers, so the event loop must stay cheap however fast a run trains:

* the reader thread never pushes metrics: it appends to the run's history (see run.py) and
  the hub *polls* that history on a timer (≤ 20 Hz), so its cost does not grow with the
  training speed;
* each message is serialised once and the same text goes to every watcher that is caught up;
  only a watcher that fell behind gets a message of its own (covering everything it missed);
  the snapshots share one encoding of the history (HistoryText), extended as it grows, and a
  long one is encoded a chunk at a time with the event loop serving others in between;
* each watcher has a small bounded queue drained by its own sender task, so a slow client only
  delays itself; one that falls too far behind (MAX_QUEUE messages or MAX_BACKLOG_BYTES bytes,
  whatever the message kind), that takes nothing for STALL_SECONDS while STALL_BYTES wait for
  it, or that vanishes is dropped;
* a `network` message goes only to a watcher that has room for it (the previous one taken:
  NETWORK_ROOM), and the worker is not asked for weights when no subscriber has: a client
  that reads nothing costs one map message, however long it takes to be dropped; the
  frames are built once for every subscriber (also for those that just subscribed);
* rare events (status, evaluation) hop from the run's reader thread with call_soon_threadsafe;
* weights and probes are asked from the run's worker on a thread (asyncio.to_thread), never
  on the event loop.

All methods run on the event loop unless stated otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import cast

import numpy as np

from app.jsontypes import JSONObject
from app.nn.network import Network, normalise_rows
from app.nn.protocol import ProbeResult, Weights
from app.runs.run import Run
from app.store.db import METRIC_KEYS

log = logging.getLogger(__name__)

MAX_QUEUE = 32  # non-coalescable messages a watcher may have waiting before it is dropped
# ... and bytes not yet taken by the client (queued here, and sent but still in the socket's
# buffers, when the watcher can tell: see Watcher.backlog): a client that asked for weight maps
# (~100 kB a message) and reads nothing is dropped within a few messages, not 32.
MAX_BACKLOG_BYTES = 1_000_000
# A client that has taken no byte for STALL_SECONDS while at least STALL_BYTES wait for it is
# dropped too: on loopback the kernel takes megabytes per socket before the server sees any
# backpressure, so a never-reader subscribed to maps would otherwise look caught up (and cost
# the server its messages) for many seconds. A client that reads, however slowly, progresses.
STALL_SECONDS = 2.0
STALL_BYTES = 64_000
# A `network` message is only pushed to a watcher with less than this not yet taken (and no
# network message still queued for it): a weight-map subscriber that has not taken the
# previous map (~100 kB) gets the newest one when it has, not a backlog of old ones.
NETWORK_ROOM = 64_000
METRICS_INTERVAL = 0.05  # ≤ 20 metrics messages a second per watcher
# With many watchers, tick slower so the run sends at most ~200 metrics messages a second: each
# send costs the event loop ~100 µs of GIL that the training thread then waits for (measured
# with bench/ws_watchers.py; 100 watchers → a tick every 0.5 s).
MAX_SENDS_PER_SECOND = 200
# A snapshot of a longer history is serialised a chunk of values at a time, the event loop
# serving others in between: one call over a long history (seconds for millions of points)
# would stall it, even from a thread (the JSON encoder holds the GIL for a whole call).
SNAPSHOT_AT_ONCE_POINTS = 2_000
SNAPSHOT_CHUNK = 500  # values a call: ~0.5 ms on an idle machine
PROBE_INTERVAL = 0.1
NETWORK_INTERVAL = 0.5


def dumps(message: JSONObject) -> str:
    """Compact JSON of one WebSocket message. NaN and Infinity are not JSON: a non-finite
    number (a diverging run's weight norms or probe) is sent as null, like the run's history."""
    return _json(message)


def _json(value: object) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), separators=(",", ":"), allow_nan=False)


def _finite(value: object) -> object:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class HistoryText:
    """A run's history columns as JSON, encoded once and extended as the history grows (it
    only grows): a snapshot costs a copy of what came before, not its encoding (200 clients
    connecting to a run each encoded its whole history). Chunk i holds the values
    [i·SNAPSHOT_CHUNK, (i+1)·SNAPSHOT_CHUNK) of each column; the last one may be partial."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.chunks: list[dict[str, str]] = []
        self.end = 0  # points encoded

    def extend(self, end: int) -> Iterator[None]:
        """Encode the points up to `end`, one chunk at a time (yields after each)."""
        while self.end < end:
            i, filled = divmod(self.end, SNAPSHOT_CHUNK)
            stop = min((i + 1) * SNAPSHOT_CHUNK, end)
            new = self._encode(self.end, stop)
            if filled:  # the partial last chunk grows: each value is encoded once
                last = self.chunks[i]
                self.chunks[i] = {name: f"{last[name]},{new[name]}" for name in METRIC_KEYS}
            else:
                self.chunks.append(new)
            self.end = stop
            yield

    def _encode(self, start: int, stop: int) -> dict[str, str]:
        points = cast(Mapping[str, list[object]], self.run.points(start, stop))
        return {name: _json(points[name])[1:-1] for name in METRIC_KEYS}

    def metrics(self, end: int) -> str:
        """The `metrics` object of the first `end` points (encoded: self.end ≥ end)."""
        full, rest = divmod(end, SNAPSHOT_CHUNK)
        tail = None
        if rest:  # the last chunk, unless it has grown past `end` meanwhile
            tail = self.chunks[full] if self.end == end else self._encode(end - rest, end)
        columns = []
        for name in METRIC_KEYS:
            parts = [chunk[name] for chunk in self.chunks[:full]]
            if tail is not None:
                parts.append(tail[name])
            columns.append(f"{_json(name)}:[{','.join(parts)}]")
        return "{" + ",".join(columns) + "}"


class Snapshot:
    """The `snapshot` message of a run as it is now: its info and evaluations are taken at
    once, its history's first `end` points come from the hub's HistoryText (encoded a chunk
    at a time; the history only grows, so they do not change meanwhile)."""

    def __init__(self, run: Run, history: HistoryText) -> None:
        self.history = history
        self.end = run.history_length()  # first: every list holds at least `end` points
        self.info: JSONObject = {**run.info(history=False)}
        self.evaluations = list(run.evaluations)

    def text(self) -> str:
        for _ in self.history.extend(self.end):
            pass
        return self._assemble()

    async def text_async(self) -> str:
        """text(), letting the event loop serve others between chunks of SNAPSHOT_CHUNK
        values (the JSON encoder holds the GIL for a whole call: a thread would not help)."""
        for _ in self.history.extend(self.end):
            await asyncio.sleep(0)
        return self._assemble()

    def _assemble(self) -> str:
        head = dumps({"type": "snapshot", "run": {**self.info, "history": None}})
        assert head.endswith('"history":null}}')  # RunDetail: RunInfo, then "history"
        metrics = self.history.metrics(self.end)
        evaluations = _json(self.evaluations)
        return f'{head[: -len("null}}")]}{{"metrics":{metrics},"evaluations":{evaluations}}}}}}}'


def layer_stats(weights: Weights, network: Network) -> list[dict[str, float | None]]:
    grads = weights.grad_norms or []
    layers = []
    for i, (w, b) in enumerate(zip(network.weights, network.biases, strict=True)):
        layers.append(
            {
                "weight_mean": float(w.mean()),
                "weight_std": float(w.std()),
                "weight_abs_max": float(np.abs(w).max()) if w.size else 0.0,
                "grad_norm": grads[i] if i < len(grads) else None,
                "bias_mean": float(b.mean()) if b.size else 0.0,
            }
        )
    return layers


def network_frames(weights: Weights) -> tuple[str, str]:
    """The `network` message without and with the first layer's 28×28 maps."""
    network = weights.network()
    layers = layer_stats(weights, network)
    plain = dumps({"type": "network", "layers": layers, "maps": None})
    first = network.weights[0]
    maps = np.round(first.astype(np.float64), 4).tolist() if first.shape[1] == 784 else None
    return plain, dumps({"type": "network", "layers": layers, "maps": maps})


def probe_messages(result: ProbeResult) -> list[JSONObject]:
    """The `probe` message of each row of one forward pass (one row per probing watcher)."""
    outputs = normalise_rows(result.activations[-1].astype(np.float64))
    out = []
    for row in range(outputs.shape[0]):
        probabilities = outputs[row]
        out.append(
            {
                "type": "probe",
                "step": result.step,
                "digit": int(np.argmax(probabilities)),
                "confidence": float(probabilities.max()),
                "probabilities": probabilities.tolist(),
                "activations": [a[row].tolist() for a in result.activations],
                "zs": [z[row].tolist() for z in result.zs],
            }
        )
    return out


class Watcher:
    """One WebSocket client of one run."""

    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        name: str = "",
        backlog: Callable[[], int] | None = None,
    ) -> None:
        self._send = send
        self.name = name
        # Bytes sent but not yet taken by the client (in the socket's buffers), when the web
        # layer can tell; else only what is queued here counts.
        self._backlog = backlog
        self.queue: deque[str] = deque()
        self.queued_bytes = 0
        # Extra bytes allowed while the snapshot drains: a client that reads steadily over a
        # slow link takes seconds to receive a long run's history (one message), and must not
        # be dropped for it; a client that never reads still is, one limit past the snapshot.
        self.grace = 0
        self.wake = asyncio.Event()
        self.metrics_from = 0  # first history index this watcher has not been sent
        self.metrics_pending = False  # a metrics message is queued and not yet sent
        self.network_pending: str | None = None  # the network message queued and not yet sent
        self.sent_bytes = 0  # bytes handed to the socket so far
        self._taken = 0  # the most the client had taken (sent_bytes minus still in the socket)
        self._progress_at = time.monotonic()
        self.sending = False  # its sender task has started
        self.probe: np.ndarray | None = None
        self.network: bool | None = None  # None: not subscribed; else whether maps are wanted
        self.closed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def backlog(self) -> int:
        """Bytes this client has not taken yet: queued here plus still in the socket."""
        return self.queued_bytes + self._in_socket()

    def _in_socket(self) -> int:
        return self._backlog() if self._backlog is not None else 0

    def stalled(self, now: float, stall_seconds: float | None = None) -> bool:
        """True when the client has taken no byte for `stall_seconds` (default STALL_SECONDS)
        while at least STALL_BYTES were waiting for it (a client that reads nothing); else
        marks any progress."""
        if not self.sending:  # its snapshot is still being serialised: the wait is ours
            self._progress_at = now
            return False
        in_socket = self._in_socket()
        # The socket also holds each frame's header (and counts UTF-8 bytes, not characters):
        # that only makes `taken` drift down, so progress is a new maximum.
        taken = self.sent_bytes - in_socket
        if taken > self._taken or self.queued_bytes + in_socket < STALL_BYTES:
            self._taken, self._progress_at = max(taken, self._taken), now
            return False
        limit = STALL_SECONDS if stall_seconds is None else stall_seconds
        return now - self._progress_at >= limit

    def wants_network(self) -> bool:
        """Subscribed to `network` and has room for the next one (see NETWORK_ROOM)."""
        return (
            self.network is not None
            and self.network_pending is None
            and not self.closed.is_set()
            and self.backlog() < NETWORK_ROOM
        )

    def push_network(self, text: str) -> None:
        self.push(text)
        if not self.closed.is_set():
            self.network_pending = text

    def push(self, text: str, *, metrics: bool = False, snapshot: bool = False) -> None:
        """Queue `text` for the client, or drop the client when it is too far behind.
        `snapshot`: the first message, whose size is allowed on top of the limit until the
        backlog is under the limit again."""
        if self.closed.is_set():
            return
        backlog = self.backlog()
        if backlog < MAX_BACKLOG_BYTES:
            self.grace = 0  # the snapshot (if any) has drained
        if len(self.queue) >= MAX_QUEUE or backlog >= MAX_BACKLOG_BYTES + self.grace:
            # Too slow to keep up even with coalescing: drop it rather than buffer without bound.
            self.drop()
            return
        if snapshot:
            self.grace = len(text)
        self.queue.append(text)
        self.queued_bytes += len(text)
        if metrics:
            self.metrics_pending = True
        self.wake.set()

    def put_first(self, snapshot: str) -> None:
        """Queue the snapshot before what was pushed while it was being serialised."""
        if self.closed.is_set():
            return
        self.queue.appendleft(snapshot)
        self.queued_bytes += len(snapshot)
        self.grace = len(snapshot)
        self.wake.set()

    def drop(self) -> None:
        self.closed.set()
        self.wake.set()
        self.queue.clear()
        self.queued_bytes = 0

    async def stop(self) -> None:
        """End this watcher's sender task (its client left, or the stream is closing)."""
        self.closed.set()
        self.wake.set()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    async def run_sender(self) -> None:
        """Drain the queue into the socket until closed; send errors mean the client left."""
        self.sending = True
        try:
            while not self.closed.is_set():
                await self.wake.wait()
                self.wake.clear()
                while self.queue and not self.closed.is_set():
                    text = self.queue.popleft()
                    self.queued_bytes -= len(text)
                    self.sent_bytes += len(text)  # now in the socket's buffers until taken
                    await self._send(text)
                    if text is self.network_pending:
                        self.network_pending = None
                    if not self.queue:
                        self.metrics_pending = False
        except Exception:  # the client went away mid-send: that is normal, not an error
            pass
        finally:
            self.closed.set()


class RunHub:
    """The watchers of one run and the timer that feeds them."""

    def __init__(
        self, run: Run, loop: asyncio.AbstractEventLoop, stall_seconds: float | None = None
    ) -> None:
        self.run = run
        self.loop = loop
        self.stall_seconds = stall_seconds  # None: STALL_SECONDS (NNP_WS_STALL_SECONDS sets it)
        self.watchers: set[Watcher] = set()
        self.sent_upto = 0  # history index the last shared metrics message ended at
        self.last_download: tuple[int, int] | None = None
        self.last_probe = 0.0
        self.last_probe_step = -1
        self.last_network = 0.0
        self.last_network_step = -1
        self.network_busy = False
        # The newest frames (step, when built, frames) and the build in flight: subscribers
        # that join meanwhile share them instead of each asking the worker.
        self.frames: tuple[int, float, tuple[str, str]] | None = None
        self.building: asyncio.Future[tuple[str, str] | None] | None = None
        self.probe_busy = False
        self.pending: list[str] = []  # evaluation messages waiting for the next tick
        self.history = HistoryText(run)  # the snapshots' encoded history
        self.ticker: asyncio.Task[None] | None = None
        run.on_change = self._from_thread

    # -- watchers -------------------------------------------------------------------------

    def add(self, watcher: Watcher) -> None:
        """Register a watcher; its first message is the snapshot (full history up to now).
        A long history is serialised in chunks; what is pushed to the watcher meanwhile is
        sent after it."""
        snapshot = Snapshot(self.run, self.history)
        watcher.metrics_from = snapshot.end
        self.watchers.add(watcher)
        if snapshot.end <= SNAPSHOT_AT_ONCE_POINTS:
            watcher.push(snapshot.text(), snapshot=True)
            watcher.task = self.loop.create_task(watcher.run_sender())
        else:
            watcher.task = self.loop.create_task(self._snapshot_then_send(watcher, snapshot))
        if self.ticker is None or self.ticker.done():
            self.ticker = self.loop.create_task(self._tick_loop())

    async def _snapshot_then_send(self, watcher: Watcher, snapshot: Snapshot) -> None:
        watcher.put_first(await snapshot.text_async())
        await watcher.run_sender()

    async def remove(self, watcher: Watcher) -> None:
        self.watchers.discard(watcher)
        await watcher.stop()

    async def close(self) -> None:
        for watcher in list(self.watchers):
            await self.remove(watcher)
        if self.ticker is not None:
            self.ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.ticker

    # -- events from the training thread ------------------------------------------------

    def _from_thread(self, kind: str, payload: JSONObject | None) -> None:
        """Called on any thread; hands the event to the loop (which may be gone at shutdown)."""
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._on_event, kind, payload)

    def _on_event(self, kind: str, payload: JSONObject | None) -> None:
        """`payload`: the evaluation or status message's fields (None: the run was deleted)."""
        if not self.watchers:
            return
        payload = payload or {}
        if kind == "evaluation":
            # Sent with the next tick's metrics: one wake-up per watcher per tick, however
            # short the epochs are.
            self.pending.append(dumps({"type": "evaluation", **payload}))
            return
        # Flush the download's progress, metrics (and evaluations) first, so a watcher sees
        # the bar reach its end and the last points before the next status.
        if kind == "status":
            self.flush_download()
        self.flush_metrics()
        if kind == "status":
            self.broadcast(dumps({"type": "status", **payload}))
        elif kind == "deleted":
            self.broadcast(dumps({"type": "error", "detail": f"run {self.run.id} was deleted"}))

    def broadcast(self, text: str) -> None:
        for watcher in self.watchers:
            watcher.push(text)

    # -- the timer ------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        while self.watchers:
            interval = max(METRICS_INTERVAL, len(self.watchers) / MAX_SENDS_PER_SECOND)
            await asyncio.sleep(interval)
            try:
                self.tick()
            except Exception:  # a bug here must not kill the stream for everyone silently
                log.exception("run %s: event fan-out failed", self.run.id)

    def tick(self) -> None:
        now = time.monotonic()
        for watcher in self.watchers:
            if watcher.stalled(now, self.stall_seconds):
                watcher.drop()  # it reads nothing: see STALL_SECONDS
        self.drop_closed()
        if self.run.live:
            self.flush_download()
        self.flush_metrics()
        now = time.monotonic()
        step = self.current_step()
        if (
            now - self.last_probe >= PROBE_INTERVAL
            and step != self.last_probe_step
            and not self.probe_busy
        ):
            probing = [w for w in self.watchers if w.probe is not None]
            if probing:
                self.last_probe, self.last_probe_step = now, step
                self.loop.create_task(self.send_probes(probing))
        if (
            now - self.last_network >= NETWORK_INTERVAL
            and step != self.last_network_step
            and not self.network_busy
            and any(w.wants_network() for w in self.watchers)
        ):
            self.last_network, self.last_network_step = now, step
            self.loop.create_task(self.send_network())

    def flush_download(self) -> None:
        """The download's progress, if it moved since the last message."""
        download = self.run.download
        if download is not None and download != self.last_download:
            self.last_download = download
            self.broadcast(dumps({"type": "download", "done": download[0], "total": download[1]}))

    def drop_closed(self) -> None:
        for watcher in [w for w in self.watchers if w.closed.is_set()]:
            self.watchers.discard(watcher)

    def current_step(self) -> int:
        return self.run.current_step()

    def metrics_message(self, start: int, end: int) -> str:
        run = self.run
        latest: Mapping[str, object] = run.latest or {}
        state: Mapping[str, object] = run.progress_state or {}
        return dumps(
            {
                "type": "metrics",
                "step": state.get("step", 0),
                "epoch": state.get("epoch", 0.0),
                "samples_seen": state.get("samples_seen", 0),
                "cost": latest.get("cost"),
                "batch_accuracy": latest.get("batch_accuracy"),
                "samples_per_second": latest.get("samples_per_second"),
                "learning_rate": latest.get("learning_rate"),
                "progress": run.progress(),
                "points": run.points(start, end),
                "emitted_at": run.last_emitted_at,
            }
        )

    def flush_metrics(self) -> None:
        """Send each watcher the points it has not had (then any pending evaluations)."""
        self._flush_points()
        pending, self.pending = self.pending, []
        for text in pending:
            self.broadcast(text)

    def _flush_points(self) -> None:
        end = self.run.history_length()
        start = self.sent_upto
        shared: str | None = None
        for watcher in self.watchers:
            if watcher.metrics_pending or watcher.metrics_from >= end:
                continue  # still sending the previous one (coalesce), or nothing new
            if watcher.metrics_from == start:
                if shared is None:
                    shared = self.metrics_message(start, end)
                text = shared
            else:  # joined late or fell behind: one message covering all it missed
                text = self.metrics_message(watcher.metrics_from, end)
            watcher.metrics_from = end
            watcher.push(text, metrics=True)
        self.sent_upto = end

    # -- probe and network ---------------------------------------------------------------

    async def send_probes(self, watchers: list[Watcher]) -> None:
        """One forward pass for every probing watcher at once (in the worker while it trains:
        asking it waits on a pipe, so never on the event loop)."""
        self.probe_busy = True
        try:
            inputs = np.stack([w.probe for w in watchers if w.probe is not None])
            result = await asyncio.to_thread(self.run.probe, inputs.astype(np.float32))
        finally:
            self.probe_busy = False
        if result is None:
            self.last_probe_step = -1  # nothing to answer yet: try again on the next tick
            return
        for watcher, message in zip(watchers, probe_messages(result), strict=True):
            watcher.push(dumps(message))

    async def _frames(self) -> tuple[str, str] | None:
        """The `network` frames of the current weights: the newest ones if they are of the
        current step or less than NETWORK_INTERVAL old, else built now (asking the worker and
        building 784-wide maps: both off the event loop), once for every caller meanwhile."""
        cached = self.frames
        if cached is not None and (
            cached[0] == self.current_step() or time.monotonic() - cached[1] < NETWORK_INTERVAL
        ):
            return cached[2]
        if self.building is None:
            self.building = asyncio.ensure_future(self._build_frames())
        building = self.building
        return await asyncio.shield(building)

    async def _build_frames(self) -> tuple[str, str] | None:
        def build() -> tuple[int, tuple[str, str]] | None:
            weights = self.run.weights()
            return (weights.step, network_frames(weights)) if weights is not None else None

        try:
            built = await asyncio.to_thread(build)
        finally:
            self.building = None
        if built is None:
            return None
        self.frames = (built[0], time.monotonic(), built[1])
        return built[1]

    async def send_network(self) -> None:
        self.network_busy = True
        try:
            frames = await self._frames()
        finally:
            self.network_busy = False
        if frames is None:
            self.last_network_step = -1  # no weights yet: try again on the next tick
            return
        plain, with_maps = frames
        for watcher in self.watchers:
            if watcher.wants_network():
                watcher.push_network(with_maps if watcher.network else plain)

    async def probe_now(self, watcher: Watcher) -> None:
        """Answer a new probe at once, rather than on the next training update."""
        if watcher.probe is not None:
            await self.send_probes([watcher])

    async def network_now(self, watcher: Watcher) -> None:
        frames = await self._frames()
        if frames is not None and watcher.network is not None and not watcher.closed.is_set():
            watcher.push_network(frames[1] if watcher.network else frames[0])


class FanOut:
    """The hubs of every watched run (one per run, created on the first watcher)."""

    def __init__(self, stall_seconds: float | None = None) -> None:
        self.hubs: dict[str, RunHub] = {}
        self.stall_seconds = stall_seconds  # each hub's (None: STALL_SECONDS)

    def hub(self, run: Run) -> RunHub:
        hub = self.hubs.get(run.id)
        if hub is None or hub.run is not run:
            hub = RunHub(run, asyncio.get_running_loop(), self.stall_seconds)
            self.hubs[run.id] = hub
        return hub

    async def release(self, hub: RunHub, watcher: Watcher) -> None:
        await hub.remove(watcher)
        if not hub.watchers and self.hubs.get(hub.run.id) is hub:
            del self.hubs[hub.run.id]
            hub.run.on_change = None
            if hub.ticker is not None:
                hub.ticker.cancel()

    async def close(self) -> None:
        for hub in list(self.hubs.values()):
            await hub.close()
        self.hubs.clear()

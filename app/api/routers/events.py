"""WebSocket /api/runs/{id}/events: a run's snapshot, then its live events (see app/runs/fanout)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import sys
from collections.abc import Callable
from typing import Protocol

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketState

from app.api.deps import FanOutDep, RunsDep, SettingsDep
from app.data.decode import InputError, decode_image, to_input
from app.data.deslant import model_input
from app.jsontypes import JSONObject
from app.runs.errors import RunNotFound
from app.runs.fanout import RunHub, Watcher, dumps

router = APIRouter(prefix="/api/runs", tags=["runs"])

CLOSE_NOT_FOUND = 4404  # application close code: no such run
CLOSE_TOO_SLOW = 1013  # "try again later": the client could not keep up
CLOSE_GRACE = 2.0  # seconds a dropped client has to take the close frame before it is cut
if sys.platform == "linux":
    import fcntl
    import termios

    SIOCOUTQ: int | None = termios.TIOCOUTQ  # a socket's bytes not yet taken by the peer
else:
    SIOCOUTQ = None


@router.websocket("/{run_id}/events")
async def run_events(
    websocket: WebSocket, run_id: str, runs: RunsDep, fanout: FanOutDep, settings: SettingsDep
) -> None:
    await websocket.accept()
    try:
        run = runs.get(run_id)
    except RunNotFound as exc:
        await websocket.send_text(dumps({"type": "error", "detail": str(exc.args[0])}))
        await websocket.close(code=CLOSE_NOT_FOUND)
        return
    hub = fanout.hub(run)
    send = websocket.send  # the ASGI send: starlette's send_text adds nothing we need per call

    async def send_text(text: str) -> None:
        await send({"type": "websocket.send", "text": text})

    transport = _transport(websocket)
    watcher = Watcher(send_text, name=run_id, backlog=_backlog_of(transport))
    hub.add(watcher)  # queues the snapshot first
    closer = asyncio.create_task(_close_when_dropped(websocket, watcher, transport))
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                watcher.push(_error("send JSON text messages, not binary"))
                continue
            if len(text) > settings.max_request_bytes:
                watcher.push(_error(f"message larger than {settings.max_request_bytes:,} bytes"))
                continue
            await handle_client_message(hub, watcher, text)
    except Exception:  # the socket broke mid-receive: the client is gone, nothing to report
        pass
    finally:
        closer.cancel()
        await fanout.release(hub, watcher)


async def _close_when_dropped(
    websocket: WebSocket, watcher: Watcher, transport: _Transport | None
) -> None:
    """Close a dropped watcher's socket with 1013. A client that reads nothing never takes the
    close frame (nor, while the buffers are full, lets it be sent): CLOSE_GRACE seconds after
    the drop its connection is cut. (A watcher that ends because its client left is cancelled
    first.)"""
    await watcher.closed.wait()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLOSE_GRACE
    if websocket.client_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(websocket.close(code=CLOSE_TOO_SLOW), CLOSE_GRACE)
    # A client that took the close frame has answered it by now; whatever is left is cut (a
    # transport's own close would keep sending to a client that reads nothing).
    await asyncio.sleep(deadline - loop.time())
    if transport is not None:
        _cut(transport)


def _cut(transport: _Transport) -> None:
    """End the connection now, dropping what the client never took: a reset (SO_LINGER 0),
    since a plain close would leave the kernel sending it to a client that reads nothing."""
    sock = transport.get_extra_info("socket")
    setsockopt = getattr(sock, "setsockopt", None)
    if setsockopt is not None:
        # ValueError: uvloop's socket of a connection the client closed meanwhile ("negative
        # file descriptor"); it has nothing left to drop then.
        with contextlib.suppress(OSError, ValueError):
            setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class _Transport(Protocol):
    def get_write_buffer_size(self) -> int: ...
    def get_extra_info(self, name: str) -> object: ...
    def abort(self) -> None: ...


def _transport(websocket: WebSocket) -> _Transport | None:
    """The connection's transport, when the server exposes it: uvicorn's ASGI `receive` is a
    method of its protocol object, which holds the transport (ASGI itself has no way to see
    how much of what was sent is still waiting, nor to cut a connection)."""
    protocol = getattr(websocket._receive, "__self__", None)
    transport = getattr(protocol, "transport", None)
    needed = ("get_write_buffer_size", "get_extra_info", "abort")
    return transport if all(hasattr(transport, name) for name in needed) else None


def _backlog_of(transport: _Transport | None) -> Callable[[], int] | None:
    """Bytes sent to this client and not yet taken by it: the transport's buffer plus the
    socket's unsent queue (Linux SIOCOUTQ)."""
    if transport is None:
        return None
    sock = transport.get_extra_info("socket")
    fileno = getattr(sock, "fileno", None)

    def backlog() -> int:
        queued = transport.get_write_buffer_size()
        if fileno is not None and SIOCOUTQ is not None and sys.platform == "linux":
            with contextlib.suppress(OSError, ValueError):
                queued += struct.unpack("i", fcntl.ioctl(fileno(), SIOCOUTQ, b"\0" * 4))[0]
        return queued

    return backlog


def _error(detail: str) -> str:
    return dumps({"type": "error", "detail": detail})


async def handle_client_message(hub: RunHub, watcher: Watcher, text: str) -> None:
    try:
        message: object = json.loads(text)  # the client's JSON, checked below
    except ValueError:
        watcher.push(_error("message is not valid JSON"))
        return
    except RecursionError:  # e.g. [[[[…]]]] nested 100,000 deep
        watcher.push(_error("message is nested too deeply"))
        return
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        watcher.push(_error('a message must be a JSON object with a "type"'))
        return
    kind = message["type"]
    if kind == "probe":
        await _probe(hub, watcher, message)
    elif kind == "network":
        if message.get("enabled", True) is False:
            watcher.network = None
            return
        maps = message.get("maps", False)
        if not isinstance(maps, bool):
            watcher.push(_error("network: 'maps' must be true or false"))
            return
        watcher.network = maps
        await hub.network_now(watcher)
    else:
        watcher.push(_error(f"unknown message type {kind!r:.60}: expected 'probe' or 'network'"))


async def _probe(hub: RunHub, watcher: Watcher, message: JSONObject) -> None:
    image, has_pixels = message.get("image"), "pixels" in message
    if image is None and has_pixels and message["pixels"] is None:
        watcher.probe = None  # stop probing
        return
    try:
        if isinstance(image, str):
            data = decode_image(image)
            # Decoding an image is real work: keep it off the event loop.
            x, _ = await asyncio.to_thread(to_input, data, None)
        elif image is None and isinstance(message.get("pixels"), list):
            x, _ = to_input(None, message["pixels"])
        else:
            raise InputError("probe: give 'image' (base64) or 'pixels' (784 numbers in 0..1)")
    except InputError as exc:
        watcher.push(_error(str(exc)))
        return
    config = hub.run.config  # handwriting: the run's input transform
    watcher.probe = model_input(x, config.deslant, config.strokes)
    await hub.probe_now(watcher)

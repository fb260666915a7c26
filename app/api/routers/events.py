"""WebSocket /api/runs/{id}/events: a run's snapshot, then its live events (see app/runs/fanout)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketState

from app.api.deps import FanOutDep, RunsDep, SettingsDep
from app.data.decode import InputError, decode_image, to_input
from app.runs.fanout import RunHub, Watcher, dumps
from app.runs.manager import RunNotFound

router = APIRouter(prefix="/api/runs", tags=["runs"])

CLOSE_NOT_FOUND = 4404  # application close code: no such run
CLOSE_TOO_SLOW = 1013  # "try again later": the client could not keep up


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

    watcher = Watcher(send_text, name=run_id)
    hub.add(watcher)  # queues the snapshot first
    closer = asyncio.create_task(_close_when_dropped(websocket, watcher))
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


async def _close_when_dropped(websocket: WebSocket, watcher: Watcher) -> None:
    await watcher.closed.wait()
    if websocket.client_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code=CLOSE_TOO_SLOW)


def _error(detail: str) -> str:
    return dumps({"type": "error", "detail": detail})


async def handle_client_message(hub: RunHub, watcher: Watcher, text: str) -> None:
    try:
        message: Any = json.loads(text)
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


async def _probe(hub: RunHub, watcher: Watcher, message: dict[str, Any]) -> None:
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
    watcher.probe = x
    await hub.probe_now(watcher)

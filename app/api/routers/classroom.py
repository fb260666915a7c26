"""The teacher's side of class mode (issue 16, section 2): the dashboard `/class`, the
projector view `/class/projector`, the pushed training config `/api/class/config`, the
learners' link as a QR code, and the live feed WebSocket `/api/class/events`
(app/api/class_feed.py)."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, Request, Response, WebSocket
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.websockets import WebSocketState

from app import __version__
from app.api.access import class_responses
from app.api.class_config import resolve
from app.api.class_room import ClassroomDep, learners_link, qr_svg
from app.api.class_schemas import ClassConfigMessage
from app.api.deps import SettingsDep
from app.api.errors import error
from app.api.identity import CurrentPrincipal, TeacherPrincipal
from app.api.schemas import RunCreate
from app.paths import TEMPLATES_DIR
from app.presets import ConfigError
from app.runs.fanout import Watcher

router = APIRouter(tags=["class"])
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

CLOSE_TOO_SLOW = 1013  # "try again later": the client could not keep up
CLOSE_GRACE = 2.0  # seconds a dropped client has to take the close frame
_TEACHER_ONLY = class_responses(401, 403, 422)  # 403: only the teacher may push


def _page(request: Request, template: str, principal: CurrentPrincipal, link: str) -> Response:
    if not principal.is_teacher:
        return templates.TemplateResponse(
            request, "class-forbidden.html", {"version": __version__}, status_code=403
        )
    return templates.TemplateResponse(
        request, template, {"version": __version__, "learners_link": link}
    )


@router.get("/class", response_class=HTMLResponse, include_in_schema=False)
async def dashboard(
    request: Request, principal: CurrentPrincipal, settings: SettingsDep
) -> Response:
    """The teacher's dashboard; a learner gets a page (403) that says it is the teacher's."""
    link = learners_link(request, settings.host, settings.class_link)
    return _page(request, "class.html", principal, link)


@router.get("/class/projector", response_class=HTMLResponse, include_in_schema=False)
async def projector(
    request: Request, principal: CurrentPrincipal, settings: SettingsDep
) -> Response:
    """Large type for a projector: one run (`?run=<id>`) or the leaderboard."""
    link = learners_link(request, settings.host, settings.class_link)
    return _page(request, "class-projector.html", principal, link)


@router.get(
    "/api/class/qr.svg",
    response_class=Response,
    responses={
        200: {"content": {"image/svg+xml": {}}, "description": "the QR code"},
        **class_responses(401),
    },
)
async def learners_qr(request: Request, settings: SettingsDep) -> Response:
    """The learners' link as a QR code (SVG), for phones to scan from the projector."""
    svg = qr_svg(learners_link(request, settings.host, settings.class_link))
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.get("/api/class/config", response_model=ClassConfigMessage, responses=class_responses(401))
async def get_config(room: ClassroomDep) -> ClassConfigMessage:
    """The teacher's pushed config (null when none), as the events socket sends it."""
    return ClassConfigMessage.model_validate(room.config.message())


@router.put("/api/class/config", response_model=ClassConfigMessage, responses=_TEACHER_ONLY)
async def put_config(
    body: RunCreate, room: ClassroomDep, teacher: TeacherPrincipal
) -> Response | ClassConfigMessage:
    """Push a training config to every learner's page (validated as POST /api/runs validates
    a run's: 422 otherwise); it is kept across restarts."""
    overrides = body.model_dump(exclude_unset=True, exclude={"preset"})
    try:
        config = resolve(body.preset, overrides)
    except ConfigError as exc:
        return error(422, str(exc))
    message = await asyncio.to_thread(room.config.push, config)  # an fsynced write
    room.feed.push_config(message)
    return ClassConfigMessage.model_validate(message)


@router.delete("/api/class/config", response_model=ClassConfigMessage, responses=_TEACHER_ONLY)
async def withdraw_config(room: ClassroomDep, teacher: TeacherPrincipal) -> ClassConfigMessage:
    """Withdraw the pushed config: the learners' pages stop offering it."""
    message = await asyncio.to_thread(room.config.push, None)
    room.feed.push_config(message)
    return ClassConfigMessage.model_validate(message)


@router.websocket("/api/class/events")
async def class_events(
    websocket: WebSocket, principal: CurrentPrincipal, room: ClassroomDep, runs: bool = True
) -> None:
    """Everyone: `config` messages. The teacher (unless `?runs=false`): a `snapshot` of every
    run, then `update`s of what changed, a few times a second."""
    await websocket.accept()
    send = websocket.send

    async def send_text(text: str) -> None:
        await send({"type": "websocket.send", "text": text})

    watcher = Watcher(send_text, name="class")
    room.feed.add(watcher, runs=runs and principal.is_teacher)
    closer = asyncio.create_task(_close_when_dropped(websocket, watcher))
    try:
        while True:  # nothing to hear from the client but its leaving
            if (await websocket.receive())["type"] == "websocket.disconnect":
                break
    except Exception:  # the socket broke mid-receive: the client is gone
        pass
    finally:
        closer.cancel()
        await room.feed.remove(watcher)


async def _close_when_dropped(websocket: WebSocket, watcher: Watcher) -> None:
    """Close the socket of a client the feed dropped (too slow) with 1013."""
    await watcher.closed.wait()
    if websocket.client_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(websocket.close(code=CLOSE_TOO_SLOW), CLOSE_GRACE)

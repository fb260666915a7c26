"""The class dashboard's server-side state, and the learners' link with its QR code.

`Classroom` (the pushed config and the live feed) is created on first use and kept on the
app (`app.state.classroom`), so this feature needs nothing from the lifespan: its feed task
runs only while a dashboard is connected.

The learners' link is the address the teacher's browser used, unless `NNP_CLASS_LINK` says
otherwise (read here with a default: e.g. a name behind a proxy). A teacher on the server's
own machine sees `localhost`, which a phone cannot open: when the server listens on every
interface, the link names this machine's LAN address instead.
"""

from __future__ import annotations

import io
import ipaddress
import socket
from dataclasses import dataclass
from typing import Annotated

import segno
from fastapi import Depends
from starlette.requests import HTTPConnection

from app.api.class_board import ModelName, Roster
from app.api.class_config import PushedConfig
from app.api.class_feed import ClassFeed
from app.api.deps import get_services
from app.jsontypes import JSONObject
from app.store.db import TEACHER_ID
from app.store.learners import Learners
from app.store.models import ModelNotFound, ModelRegistry

WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


@dataclass
class Classroom:
    config: PushedConfig
    feed: ClassFeed


async def get_classroom(conn: HTTPConnection) -> Classroom:
    room: Classroom | None = getattr(conn.app.state, "classroom", None)
    if room is None:  # first use (on the event loop: no other task creates one meanwhile)
        services = await get_services(conn)
        config = PushedConfig(services.settings.data_dir)
        feed = ClassFeed(
            services.runs, config, _model_names(services.models), _roster(services.learners)
        )
        room = Classroom(config, feed)
        conn.app.state.classroom = room
    return room


ClassroomDep = Annotated[Classroom, Depends(get_classroom)]


def _model_names(models: ModelRegistry) -> ModelName:
    def name(model_id: str) -> str | None:
        try:
            return models.lookup(model_id).name
        except ModelNotFound:  # deleted since the run was saved
            return None

    return name


def _roster(learners: Learners) -> Roster:
    def roster() -> list[JSONObject]:
        return [{"id": x.id, "name": x.name} for x in learners.all() if x.id != TEACHER_ID]

    return roster


def lan_address() -> str | None:
    """This machine's address on its network (the one its default route leaves by; no packet
    is sent), or None without a network."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if ipaddress.ip_address(address).is_loopback else address


def learners_link(conn: HTTPConnection, server_host: str, explicit: str = "") -> str:
    """The address learners open (see the module docstring); `explicit`: NNP_CLASS_LINK."""
    explicit = explicit.strip()
    if explicit:
        return explicit
    url = conn.url
    scheme = "https" if url.scheme in ("https", "wss") else "http"
    host = url.hostname or "localhost"
    if host in LOOPBACK_NAMES and server_host in WILDCARD_HOSTS:
        host = lan_address() or host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{scheme}://{host}{'' if url.port is None else f':{url.port}'}/"


def qr_svg(text: str) -> bytes:
    """`text` as a QR code in SVG: black on white with the standard quiet zone, error
    correction M (readable from a projector at an angle), scalable to any size."""
    code = segno.make(text, error="m", micro=False)
    out = io.BytesIO()
    code.save(
        out, kind="svg", scale=1, border=4, dark="#000", light="#fff", xmldecl=False,
        title="QR code of the learners' link", omitsize=True,
    )  # fmt: skip
    return out.getvalue()

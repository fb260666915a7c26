"""Never-read WebSockets are closed (issue 18, item 7): a client that asked for weight maps and
reads nothing is dropped within a few messages' bytes, and its connection ends, while a
reading watcher keeps its stream. A real server; the never-reading clients are raw sockets
that, after the handshake, never call recv."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
from pathlib import Path

import httpx
from websockets.sync.client import connect as ws_connect

from .api_support import LONG_RUN, wait_for
from .test_server import server

ESTABLISHED = 1  # tcpi_state, the first byte of Linux's struct tcp_info


def masked_text(text: str) -> bytes:
    """One client→server text frame (clients must mask)."""
    payload = text.encode()
    mask = os.urandom(4)
    assert len(payload) < 126
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + body


def never_reader(url: str, run_id: str) -> socket.socket:
    """A WebSocket that subscribes to weight maps and then never reads (a small receive
    buffer, as a stalled client's would be once full)."""
    port = int(url.rsplit(":", 1)[1])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /api/runs/{run_id}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:  # the 101 answer, byte by byte: nothing more is read
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    sock.sendall(masked_text(json.dumps({"type": "network", "maps": True})))
    return sock


def tcp_state(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]


def test_never_read_map_watchers_are_cut_off_and_readers_keep_going(
    tmp_path: Path, mnist_dir: Path
) -> None:
    with server(tmp_path / "data", mnist_dir) as (url, _), httpx.Client(base_url=url) as http:
        run_id = http.post("/api/runs", json=LONG_RUN).json()["id"]
        try:
            stalled = [never_reader(url, run_id) for _ in range(5)]
            uri = url.replace("http", "ws") + f"/api/runs/{run_id}/events"
            with ws_connect(uri, max_size=None, open_timeout=10) as reader:
                reader.send(json.dumps({"type": "network", "maps": True}))

                def all_cut() -> bool:
                    return all(tcp_state(sock) != ESTABLISHED for sock in stalled)

                maps = 0

                def reader_gets_maps() -> bool:
                    nonlocal maps
                    message = json.loads(reader.recv(timeout=10))
                    maps += message["type"] == "network" and message["maps"] is not None
                    return maps >= 3

                wait_for(all_cut, timeout=40, interval=0.2)
                wait_for(reader_gets_maps, timeout=30, interval=0)
            for sock in stalled:
                sock.close()
        finally:
            http.post(f"/api/runs/{run_id}/stop")


def test_cutting_a_connection_the_client_already_closed_is_quiet() -> None:
    """bench/ws_watchers.py logged 920 "Task exception was never retrieved" tracebacks: the
    cut of a dropped watcher met a connection its client had closed meanwhile, whose uvloop
    socket answers setsockopt with ValueError("negative file descriptor")."""
    from app.api.routers.events import _cut

    class ClosedSocket:  # what uvloop's PseudoSocket does once its fd is gone
        def setsockopt(self, *args: object) -> None:
            raise ValueError("negative file descriptor")

    class Transport:
        aborted = False

        def get_write_buffer_size(self) -> int:
            return 0

        def get_extra_info(self, name: str) -> object:
            return ClosedSocket() if name == "socket" else None

        def abort(self) -> None:
            self.aborted = True

    transport = Transport()
    _cut(transport)  # raised ValueError before
    assert transport.aborted

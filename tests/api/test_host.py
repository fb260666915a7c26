"""The Host header is parsed strictly (issue 18, item 8): a real server, raw sockets (httpx and
browsers normalise Host, a proxy or a script need not)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from app.api.security import parse_host

from .test_server import server


def raw_request(url: str, head: str) -> tuple[int, bytes]:
    """Send `head` (request line and headers, CRLF-separated, no blank line) and return the
    answer's status and body."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def foreign_forms(port: int) -> list[list[str]]:
    """Host headers (each form is a list of header lines) that must be refused."""
    return [
        [f"Host: localhost:{port}@evil.com"],
        ["Host: [::1]evil.com"],
        ["Host: [::1].evil.com"],
        [f"Host: localhost:{port}, evil.com"],
        [f"Host: localhost:{port}", "Host: evil.com"],
        [f"Host: localhost:{port}", f"Host: localhost:{port}"],
        ["Host: evil.com"],
        [f"Host: localhost:{port}:{port}"],
        [f"Host: 127.0.0.1.evil.com:{port}"],
        ["Host: localhost:99999"],
    ]


def test_every_foreign_host_form_is_refused_over_http_and_websocket(
    tmp_path: Path, mnist_dir: Path
) -> None:
    with server(tmp_path / "data", mnist_dir) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        for own in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "LocalHost"):
            assert raw_request(url, f"GET /healthz HTTP/1.1\r\nHost: {own}")[0] == 200, own
        accepted = []
        for form in foreign_forms(port):
            status, body = raw_request(url, "\r\n".join(["GET /api/models HTTP/1.1", *form]))
            if status != 400 or "detail" not in json.loads(body):
                accepted.append((form, status))
        assert accepted == []
        handshake = (
            "GET /api/runs/none/events HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13"
        )
        for form in foreign_forms(port)[:5]:
            status, body = raw_request(url, "\r\n".join([handshake, *form]))
            assert status == 400 and "Host" in json.loads(body)["detail"], (form, status)


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("localhost", "localhost"),
        ("LOCALHOST:8000", "localhost"),
        ("[::1]:8000", "[::1]"),
        ("127.0.0.1:", "127.0.0.1"),
        ("pc.example.org:80", "pc.example.org"),
        ("localhost:8000@evil.com", None),
        ("[::1]evil.com", None),
        ("[::1.evil.com", None),
        ("[zz::1]", None),
        ("localhost:80, evil.com", None),
        ("local host", None),
        ("", None),
        ("-bad.example", None),
    ],
)
def test_parse_host(value: str, host: str | None) -> None:
    assert parse_host(value) == host

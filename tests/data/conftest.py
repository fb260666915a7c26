"""A real HTTP server on 127.0.0.1 playing MNIST mirrors, serving generated IDX files."""

from __future__ import annotations

import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from .fakes import FakeMNIST, MirrorServer, make_fake_mnist, serve_http


@pytest.fixture
def fake_mnist() -> FakeMNIST:
    return make_fake_mnist()


@pytest.fixture
def mirror_server() -> Iterator[MirrorServer]:
    server_state: MirrorServer | None = None

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, with_body: bool) -> None:
            assert server_state is not None
            server_state.requests.append((self.command, self.path))
            status, body, cut_at = server_state.routes.get(self.path, (404, b"not found", None))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if with_body:
                # HTTP/1.0: the connection closes when the handler returns, mid-body if cut.
                self.wfile.write(body[:cut_at])

        def do_GET(self) -> None:
            assert server_state is not None
            time.sleep(server_state.delay)  # a slow mirror, not a synchronisation
            self._answer(with_body=True)

        def do_HEAD(self) -> None:
            self._answer(with_body=False)

        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            pass

    with serve_http(Handler) as base:
        server_state = MirrorServer(base=base)
        yield server_state

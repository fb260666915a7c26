"""Slow clients (issue 18, item 6): a body that stalls is cut off after the body timeout, and
only a bounded number of bodies are received at once. A real server; raw sockets."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .test_server import server

TIMEOUT = 2.0


def stalled_post(
    url: str, sent: int = 1_800_000, declared: int = 1_900_000
) -> tuple[int, dict, float]:
    """POST `sent` of `declared` body bytes, stall, and wait for the answer: (status, JSON
    body, seconds until the server closed the connection)."""
    port = int(url.rsplit(":", 1)[1])
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT * 5) as sock:
        head = (
            f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
        )
        sock.sendall(head.encode() + b" " * sent)
        data = b""
        while chunk := sock.recv(65536):  # until the server closes (socket timeout: fails)
            data += chunk
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    status = int(head_bytes.split(b"\r\n", 1)[0].split()[1])
    headers = dict(line.decode().lower().split(": ", 1) for line in head_bytes.split(b"\r\n")[1:])
    return status, {"body": json.loads(body), **headers}, time.monotonic() - began


@pytest.fixture
def slow_server(tmp_path: Path, mnist_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NNP_BODY_TIMEOUT_SECONDS", str(TIMEOUT))
    monkeypatch.setenv("NNP_MAX_BODY_READS", "2")
    with server(tmp_path / "data", mnist_dir) as (url, _):
        yield url


def test_a_stalled_body_gets_408_and_the_connection_is_closed(slow_server: str) -> None:
    status, answer, took = stalled_post(slow_server)
    assert status == 408 and "did not arrive" in answer["body"]["detail"]
    assert took < TIMEOUT * 3


def test_only_a_bounded_number_of_bodies_are_received_at_once(slow_server: str) -> None:
    # 32 kB of each body sent: the server takes all of it off the socket even when it never
    # reads the body, so closing such a connection does not reset it (a reset could drop the
    # answer before the client reads it).
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: stalled_post(slow_server, sent=32_000), range(3)))
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [408, 408, 503], statuses
    refused = next(answer for status, answer, _ in results if status == 503)
    assert int(refused["retry-after"]) >= 1 and "try again" in refused["body"]["detail"]

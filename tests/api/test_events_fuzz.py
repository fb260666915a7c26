"""Malformed and random WebSocket messages to a run's events, on a real uvicorn server.

Each one gets an `error` message with a detail (or, past the server's frame limit, a clean
close), the connection keeps streaming, the run keeps training and the server keeps serving.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from .api_support import LONG_RUN
from .test_server import server

# An unknown type: its error marks the end of the previous message's replies.
SENTINEL = '{"type": "end-of-replies"}'

MALFORMED: list[str | bytes] = [
    b"\x00\x01binary",
    b"",
    "",
    "not json",
    "[1, 2",
    "null",
    "42",
    '"probe"',
    "[]",
    "{}",
    '{"type": 5}',
    '{"type": null}',
    '{"type": "dance"}',
    '{"type": "probe"}',
    '{"type": "probe", "image": 5}',
    '{"type": "probe", "image": "!!not base64"}',
    '{"type": "probe", "image": "data:text/plain,hello"}',
    '{"type": "probe", "image": "aGVsbG8="}',
    '{"type": "probe", "pixels": "x"}',
    '{"type": "probe", "pixels": [1, 2, 3]}',
    '{"type": "probe", "pixels": [' + ",".join(["NaN"] * 784) + "]}",
    '{"type": "probe", "pixels": [' + ",".join(["1e400"] * 784) + "]}",
    '{"type": "probe", "pixels": [' + ",".join(["true"] * 784) + "]}",
    '{"type": "probe", "pixels": [' + ",".join(["{}"] * 784) + "]}",
    '{"type": "probe", "pixels": [' + ",".join(["10" + "0" * 400] * 784) + "]}",
    '{"type": "network", "maps": "yes"}',
    "[" * 100_000 + "]" * 100_000,  # nested too deeply for the JSON parser
    '{"type": "' + "x" * 100_000 + '"}',
    "x" * 2_500_000,  # over the server's message limit (NNP_MAX_REQUEST_BYTES)
]


def _replies_until_sentinel(ws: ClientConnection) -> list[dict]:
    """Every message up to the sentinel's error (which is not included)."""
    ws.send(SENTINEL)
    got = []
    while True:
        message = json.loads(ws.recv(timeout=30))
        if message["type"] == "error" and "end-of-replies" in message["detail"]:
            return got
        got.append(message)


def _random_message(rng: random.Random) -> str | bytes:
    kind = rng.randrange(6)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 300))
    if kind == 1:
        return "".join(chr(rng.randrange(1, 0xD7FF)) for _ in range(rng.randrange(1, 80)))
    values: list[object] = [None, True, 0, -1, 1.5, "", "probe", [], {}, [0.5] * 784, "a" * 50]
    if kind == 2:
        return json.dumps(rng.choice(values))
    message = {"type": rng.choice(["probe", "network", "PROBE", "", "stats"])}
    for key in rng.sample(["image", "pixels", "maps", "enabled", "extra"], rng.randrange(4)):
        message[key] = rng.choice(values)
    return json.dumps(message)


def _status(url: str, run_id: str) -> str:
    return httpx.get(f"{url}/api/runs/{run_id}", timeout=10).json()["status"]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_bad_websocket_messages_get_errors_and_break_nothing(
    tmp_path: Path, mnist_dir: Path
) -> None:
    with server(tmp_path / "data", mnist_dir) as (url, proc):
        run_id = httpx.post(f"{url}/api/runs", json=LONG_RUN, timeout=10).json()["id"]
        uri = url.replace("http", "ws") + f"/api/runs/{run_id}/events"
        with connect(uri, max_size=None) as ws:
            assert json.loads(ws.recv(timeout=30))["type"] == "snapshot"
            for message in MALFORMED:
                ws.send(message)
                errors = [m for m in _replies_until_sentinel(ws) if m["type"] == "error"]
                assert len(errors) == 1, (str(message)[:80], errors)
                assert isinstance(errors[0]["detail"], str) and errors[0]["detail"]
                assert len(errors[0]["detail"]) < 1000  # says what is wrong, doesn't echo
            rng = random.Random(7)
            for _ in range(150):
                ws.send(_random_message(rng))
                for reply in _replies_until_sentinel(ws):
                    assert reply["type"] != "error" or reply["detail"], reply
            # Still a working watcher: a valid probe is answered.
            ws.send(json.dumps({"type": "probe", "pixels": [0.0] * 300 + [1.0] * 40 + [0.0] * 444}))
            while (reply := json.loads(ws.recv(timeout=30)))["type"] != "probe":
                pass
            assert len(reply["probabilities"]) == 10
        # A frame past uvicorn's limit (16 MiB) is refused with a clean close.
        with connect(uri, max_size=None) as ws, pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
            ws.send("x" * (17 * 1024 * 1024))
            while True:
                ws.recv(timeout=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        assert proc.poll() is None and httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        assert _status(url, run_id) == "running"
        httpx.post(f"{url}/api/runs/{run_id}/stop", timeout=10)

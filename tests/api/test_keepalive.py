"""After a 4xx, the client's kept-alive connection still works (the former 500s reset it)."""

from __future__ import annotations

import http.client
import json
import uuid
from pathlib import Path

from app.nn.network import Network

from .api_support import wait_for
from .test_models import _with_raw_metadata
from .test_server import server

DIVERGING_RUN = {
    "preset": "3b1b",
    "epochs": 3,
    "train_subset": 4000,
    "validation_size": 500,
    "optimizer": "sgd",
    "learning_rate": 1e10,
}


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _call(
    conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
    content_type: str | None = None,
) -> tuple[int, dict]:  # fmt: skip
    headers = {"Content-Type": content_type} if content_type else {}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    assert response.getheader("connection", "").lower() != "close", (method, path)
    return response.status, json.loads(data) if data else {}


def test_the_connection_survives_the_former_500s(tmp_path: Path, mnist_dir: Path) -> None:
    with server(tmp_path / "data", mnist_dir) as (url, _):
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        assert _call(conn, "GET", "/healthz")[0] == 200
        local = conn.sock.getsockname()  # one TCP connection, reused by every request below

        net = Network([784, 4, 10], "relu", "cross_entropy", seed=0)
        for metadata in ('{"a": 1e400}', '{"name": "\\ud800"}'):
            body, content_type = _multipart("m.npz", _with_raw_metadata(net, metadata))
            status, answer = _call(conn, "POST", "/api/models", body, content_type)
            assert status == 422 and answer["detail"].startswith("file: "), answer
            assert _call(conn, "GET", "/healthz")[0] == 200

        body = json.dumps(DIVERGING_RUN).encode()
        status, run = _call(conn, "POST", "/api/runs", body, "application/json")
        assert status == 201, run

        def ended() -> bool:
            return _call(conn, "GET", f"/api/runs/{run['id']}")[1]["status"] == "diverged"

        wait_for(ended, timeout=120, interval=0.2)
        status, answer = _call(conn, "GET", f"/api/runs/{run['id']}/network")
        # 409 when its weights are NaN; 200 if the run kept its last finite weights.
        assert status in (200, 409), answer
        assert status == 200 or "NaN or infinite" in answer["detail"]
        assert _call(conn, "GET", "/healthz")[0] == 200
        assert conn.sock is not None and conn.sock.getsockname() == local
        conn.close()

"""Another web page on this machine tries to drive the server, in a real Chromium.

The test serves an attacker page on a second local origin (http://localhost:<other port>,
cross-site to the app at http://127.0.0.1:<port>). On load it sends a form POST (a model upload
and a run pause), no-cors fetches (multipart upload, text/plain JSON to predict and to create a
run, a pause), opens a WebSocket to a training run and frames the app. Each is refused, and the
model count, the run list and the run's status are the same afterwards. DNS rebinding is a
foreign Host header. The same requests without Origin, as curl sends them, still work.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from app.nn.network import Network
from app.nn.serialize import model_to_bytes

from .waits import wait_for

# Keeps training until stopped, on a small subset (status stays "running" through the test).
LONG_RUN = {"preset": "3b1b", "epochs": 100, "train_subset": 2000, "validation_size": 500}

ATTACK_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>cute cats</title></head>
<body>
<h1>Nothing to see here</h1>
<form id="form-upload" method="post" enctype="multipart/form-data" target="sink-upload"
      action="@APP@/api/models">
  <input type="file" name="file"><input name="name" value="planted by a form">
</form>
<form id="form-pause" method="post" enctype="text/plain" target="sink-pause"
      action="@APP@/api/runs/@RUN@/pause"></form>
<iframe name="sink-upload"></iframe><iframe name="sink-pause"></iframe>
<iframe id="framed" src="@APP@/"></iframe>
<script>
const APP = "@APP@", RUN = "@RUN@", MODEL = atob("@MODEL@");
const log = (window.attack = { ws: [], sent: [] });
const bytes = Uint8Array.from(MODEL, (c) => c.charCodeAt(0));
const file = new File([bytes], "planted.npz", { type: "application/octet-stream" });

// 1, 2: cross-site form POSTs (a form needs no script; one fills in the file here).
const dt = new DataTransfer();
dt.items.add(file);
document.querySelector("#form-upload input[type=file]").files = dt.files;
document.getElementById("form-upload").submit();
document.getElementById("form-pause").submit();

// 3-6: no-cors fetches, which need no CORS preflight.
const form = new FormData();
form.append("file", file);
form.append("name", "planted by fetch");
const pixels = JSON.stringify({ pixels: Array(784).fill(0.5) });
const attacks = [
  fetch(APP + "/api/models", { method: "POST", mode: "no-cors", body: form }),
  fetch(APP + "/api/predict", { method: "POST", mode: "no-cors", body: pixels,
                                headers: { "Content-Type": "text/plain" } }),
  fetch(APP + "/api/runs", { method: "POST", mode: "no-cors",
                             body: JSON.stringify({ preset: "3b1b" }) }),
  fetch(APP + "/api/runs/" + RUN + "/pause", { method: "POST", mode: "no-cors" }),
];
Promise.allSettled(attacks).then((r) => { log.sent = r.map((x) => x.status); });

// 7: a WebSocket to the run (it would read the snapshot, then steer it).
const ws = new WebSocket(APP.replace("http", "ws") + "/api/runs/" + RUN + "/events");
ws.onopen = () => { log.ws.push("open"); ws.send(JSON.stringify({ type: "pause" })); };
ws.onmessage = (e) => log.ws.push("message");
ws.onerror = () => log.ws.push("error");
ws.onclose = (e) => log.ws.push("close " + e.code);
</script>
</body></html>
"""
HTTP_ATTACKS = [
    ("POST", "/api/models"),  # the form upload
    ("POST", "/api/runs/{run}/pause"),  # the form pause
    ("POST", "/api/models"),  # the no-cors upload
    ("POST", "/api/predict"),
    ("POST", "/api/runs"),
    ("POST", "/api/runs/{run}/pause"),
]


@contextlib.contextmanager
def attacker_site(root: Path, page: str) -> Iterator[str]:
    """Serve `page` as index.html from a second local origin; yield its URL."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text(page)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=root))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{httpd.server_address[1]}/index.html"
    finally:
        httpd.shutdown()
        httpd.server_close()


def state(server: str, run_id: str) -> dict:
    runs = httpx.get(f"{server}/api/runs").json()["runs"]
    return {
        "models": sorted(m["id"] for m in httpx.get(f"{server}/api/models").json()["models"]),
        "runs": sorted(r["id"] for r in runs),
        "status": next(r["status"] for r in runs if r["id"] == run_id),
    }


def tiny_model() -> bytes:
    return model_to_bytes(Network([784, 8, 10], seed=11), {"note": "planted"})


@pytest.fixture
def running(server: str) -> Iterator[str]:
    """A run that trains until the test ends."""
    r = httpx.post(f"{server}/api/runs", json=LONG_RUN, timeout=10)
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    wait_for_status(server, run_id, "running")
    yield run_id
    httpx.post(f"{server}/api/runs/{run_id}/stop", timeout=10)


def wait_for_status(server: str, run_id: str, status: str) -> None:
    deadline = time.monotonic() + 60
    while httpx.get(f"{server}/api/runs/{run_id}").json()["status"] != status:
        assert time.monotonic() < deadline, f"run {run_id} never became {status}"
        time.sleep(0.05)


def attack_from_a_foreign_page(browser, server: str, run_id: str, root: Path) -> dict:
    """Open ATTACK_PAGE from another origin; return what the server answered and saw."""
    page_html = (
        ATTACK_PAGE.replace("@APP@", server)
        .replace("@RUN@", run_id)
        .replace("@MODEL@", base64.b64encode(tiny_model()).decode())
    )
    seen: dict[str, list] = {"posts": [], "framed_loads": [], "ws_frames": []}

    def on_response(response) -> None:
        request = response.request
        if not request.url.startswith(server):
            return
        if request.method == "POST":
            seen["posts"].append((request.method, request.url[len(server) :], response.status))
        if request.frame.parent_frame is not None and request.resource_type != "document":
            seen["framed_loads"].append(request.url)  # a framed app would load its scripts

    ctx = browser.new_context()
    ctx.on("response", on_response)
    page = ctx.new_page()
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: seen["ws_frames"].append(f)))
    try:
        with attacker_site(root, page_html) as url:
            page.goto(url)
            wait_for(page, "() => window.attack && window.attack.sent.length === 4")
            # The socket settles: refused (closed) or, were it let in, reading.
            wait_for(page, "() => window.attack.ws.some(e => e !== 'open' && e !== 'error')")
            _poll(lambda: len(seen["posts"]) >= len(HTTP_ATTACKS))
            framed = next(f for f in page.frames if f.name == "" and f.parent_frame is not None)
            return {
                **seen,
                "ws_events": page.evaluate("window.attack.ws"),
                "framed_app": _frame_has_app(framed),
            }
    finally:
        ctx.close()


def test_a_foreign_page_cannot_drive_the_server(
    browser, server: str, running: str, tmp_path: Path, record
) -> None:
    before = state(server, running)
    assert before["status"] == "running"
    seen = attack_from_a_foreign_page(browser, server, running, tmp_path / "attacker")
    after = state(server, running)
    expected = sorted((m, p.format(run=running), 403) for m, p in HTTP_ATTACKS)
    ws_refused = "open" not in seen["ws_events"] and not seen["ws_frames"]
    frame_refused = not seen["framed_app"] and not seen["framed_loads"]
    refused = sum(1 for a in seen["posts"] if a[2] == 403) + ws_refused + frame_refused
    record(
        "cross_site_attacks",
        {
            **{k: v for k, v in seen.items() if k != "ws_frames"},
            "ws_frames_received": len(seen["ws_frames"]),
            "refused": f"{refused}/{len(HTTP_ATTACKS) + 2}",
        },
    )
    assert sorted(seen["posts"]) == expected
    assert ws_refused, seen["ws_events"]
    assert frame_refused, seen["framed_loads"]
    assert after == before  # no model planted, no run created, the run still running


def _poll(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _frame_has_app(frame) -> bool:
    try:
        return bool(frame.evaluate("() => !!document.querySelector('#draw-canvas')"))
    except Exception:  # a blocked frame shows Chromium's error page (or no context at all)
        return False


def test_dns_rebinding_a_foreign_host_is_refused(server: str, running: str) -> None:
    """A page on attacker.example that rebinds its name to 127.0.0.1 is same-origin to itself,
    so Origin checks pass; its requests still carry `Host: attacker.example`."""
    before = state(server, running)
    port = server.rsplit(":", 1)[1]
    rebound = {"host": f"attacker.example:{port}"}
    with httpx.Client(base_url=server, headers=rebound, timeout=10) as http:
        answers = [
            http.get("/api/models"),
            http.get(f"/api/runs/{running}"),
            http.post("/api/runs", json=LONG_RUN),
            http.post(f"/api/runs/{running}/pause"),
            http.delete(f"/api/models/{before['models'][0]}"),
        ]
    for r in answers:
        assert r.status_code == 400 and "attacker.example" in r.json()["detail"], r.request.url
    assert state(server, running) == before


def test_local_scripts_without_origin_still_work(server: str) -> None:
    """curl, scripts and the CLI send no Origin: they create runs and upload models as before."""
    with httpx.Client(base_url=server, timeout=10) as http:
        r = http.post("/api/models", files={"file": ("mine.npz", tiny_model())})
        assert r.status_code == 201, r.text
        model_id = r.json()["id"]
        r = http.post("/api/runs", json=LONG_RUN)
        assert r.status_code == 201, r.text
        run_id = r.json()["id"]
        try:
            wait_for_status(server, run_id, "running")
            assert http.post(f"/api/runs/{run_id}/pause").status_code == 200
            assert http.get(f"/api/runs/{run_id}").json()["status"] == "paused"
            ws_url = server.replace("http://", "ws://") + f"/api/runs/{run_id}/events"
            with ws_connect(ws_url, open_timeout=5) as ws:
                assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        finally:
            http.post(f"/api/runs/{run_id}/stop")
        assert http.delete(f"/api/models/{model_id}").status_code == 204

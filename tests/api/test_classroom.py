"""/api/class/*: the pushed config (teacher only, validated like a run's, kept across a
restart), the events socket (config for everyone, runs for the teacher), the teacher's pages
and the learners' QR code (issue 16, section 2)."""

from __future__ import annotations

import typing
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from app.api.identity import CurrentPrincipal, Principal
from app.settings import Settings

from .api_support import LONG_RUN, SHORT_RUN

LEARNER = Principal(id="l_learner", name="<b>ada</b>", is_teacher=False)
PUSH = {"preset": "3b1b", "epochs": 3, "layers": [32, 16], "learning_rate": 0.25}


def as_learner(client: TestClient, who: Principal = LEARNER) -> None:
    """Every request of `client` is `who` (the identity dependency, overridden)."""
    dependency = typing.get_args(CurrentPrincipal)[1].dependency
    client.app.dependency_overrides[dependency] = lambda: who  # type: ignore[attr-defined]


def test_nothing_is_pushed_at_first(client: TestClient) -> None:
    r = client.get("/api/class/config")
    assert r.status_code == 200
    assert r.json() == {"type": "config", "config": None, "pushed_at": None}


def test_a_pushed_config_is_resolved_and_survives_a_restart(
    make_client: Callable[[Settings], TestClient], settings: Settings
) -> None:
    client = make_client(settings)
    r = client.put("/api/class/config", json=PUSH)
    assert r.status_code == 200, r.text
    pushed = r.json()
    config = pushed["config"]
    # The preset's other fields are filled in (3b1b: sigmoid, momentum), the given ones kept.
    assert config["preset"] == "3b1b" and config["layers"] == [32, 16]
    assert config["epochs"] == 3 and config["learning_rate"] == 0.25
    assert config["activation"] == "sigmoid" and config["optimizer"] == "momentum"
    assert isinstance(pushed["pushed_at"], float)
    assert client.get("/api/class/config").json() == pushed
    # The config starts a run as it is (what the learner's "Start it" sends).
    run = client.post("/api/runs", json={**config, "epochs": 1, "train_subset": 500})
    assert run.status_code == 201, run.text
    client.post(f"/api/runs/{run.json()['id']}/stop")
    client.__exit__(None, None, None)
    again = make_client(settings)
    assert again.get("/api/class/config").json() == pushed
    withdrawn = again.delete("/api/class/config")
    assert withdrawn.status_code == 200 and withdrawn.json()["config"] is None
    assert again.get("/api/class/config").json()["config"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"epochs": 0},
        {"layers": []},
        {"layers": [2000]},
        {"preset": "nope"},
        {"learning_rate": -1},
        {"epochs": "3"},
        {"activation": "swish"},
        {"colour": "blue"},
        {"layers": [1024, 1024, 1024, 1024]},  # over the parameter limit
    ],
)
def test_a_bad_config_is_422_and_changes_nothing(client: TestClient, body: dict) -> None:
    before = client.put("/api/class/config", json=PUSH).json()
    r = client.put("/api/class/config", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]
    # Exactly what run creation answers for the same body.
    assert client.post("/api/runs", json=body).status_code == 422
    assert client.get("/api/class/config").json() == before


def test_only_the_teacher_pushes(client: TestClient) -> None:
    before = client.put("/api/class/config", json=PUSH).json()
    as_learner(client)
    for response in (
        client.put("/api/class/config", json=PUSH),
        client.delete("/api/class/config"),
    ):
        assert response.status_code == 403
        assert response.json()["detail"]
    assert client.get("/api/class/config").json() == before  # anyone may read it


def test_the_pages_are_the_teachers(client: TestClient) -> None:
    for path in ("/class", "/class/projector"):
        page = client.get(path)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "http://localhost/" in page.text  # the learners' link
    as_learner(client)
    for path in ("/class", "/class/projector"):
        page = client.get(path)
        assert page.status_code == 403
        assert "teacher" in page.text and "class-dashboard.js" not in page.text


def test_the_qr_code_is_an_svg_of_the_learners_link(
    client: TestClient, make_client, settings: Settings
) -> None:
    r = client.get("/api/class/qr.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(r.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    link = "http://class.example:8000/" + "x" * 40  # NNP_CLASS_LINK
    update = {"class_link": link, "data_dir": settings.data_dir / "b"}
    client = make_client(settings.model_copy(update=update))
    longer = client.get("/api/class/qr.svg")
    assert longer.content != r.content  # a longer link, a bigger code
    assert "http://class.example:8000/" in client.get("/class").text


def test_the_feed_sends_the_teacher_every_run_and_its_end(client: TestClient) -> None:
    run_id = client.post("/api/runs", json=SHORT_RUN).json()["id"]
    statuses: list[str] = []
    with client.websocket_connect("/api/class/events") as ws:
        first = ws.receive_json()
        assert first == {"type": "config", "config": None, "pushed_at": None}
        snapshot = ws.receive_json()
        assert snapshot["type"] == "snapshot"
        runs = {r["id"]: r for r in snapshot["runs"]}
        assert run_id in runs
        latest = runs[run_id]
        curve = list(latest["curve"])
        board = snapshot["leaderboard"]
        statuses.append(latest["status"])
        while latest["status"] != "finished":
            message = ws.receive_json()
            assert message["type"] == "update"
            for summary in message["runs"]:
                if summary["id"] == run_id:
                    latest = summary
                    statuses.append(summary["status"])
            curve += message["curves"].get(run_id, [])
            board = message.get("leaderboard", board)
    detail = client.get(f"/api/runs/{run_id}").json()
    assert latest["best_test_accuracy"] == round(detail["best_test_accuracy"], 4)
    assert (
        latest["sizes"] == [784, 16, 16, 10]
        and latest["parameters"] == 785 * 16 + 17 * 16 + 17 * 10
    )
    assert statuses[-1] == "finished"
    # The small curve covers the whole run, in order, with accuracies in 0..1.
    steps = [p[0] for p in curve]
    assert steps == sorted(steps) and steps[-1] == detail["history"]["metrics"]["step"][-1]
    assert all(0 <= p[1] <= 1 for p in curve) and 2 <= len(curve) <= 80
    entries = [e for e in board["learners"] if e["run_id"] == run_id]
    assert entries and entries[0]["accuracy"] == latest["best_test_accuracy"]


def _until(ws, run_id: str, status: str) -> dict:
    """Read the teacher's feed until run `run_id` has `status`; its summary."""
    while True:
        message = ws.receive_json()
        for summary in message.get("runs", []):
            if summary["id"] == run_id and summary["status"] == status:
                return summary


def test_the_feed_follows_a_run_the_teacher_stops(client: TestClient) -> None:
    with client.websocket_connect("/api/class/events") as ws:
        ws.receive_json()
        assert ws.receive_json() == {
            "type": "snapshot",
            "runs": [],
            "leaderboard": {"learners": [], "architectures": []},
            "learners": [],  # single-user: no learner but the teacher
        }
        run_id = client.post("/api/runs", json=LONG_RUN).json()["id"]
        running = _until(ws, run_id, "running")
        assert running["placement"]["executor"] in ("local", "ray")
        assert running["owner"] and running["owner_name"]
        client.post(f"/api/runs/{run_id}/stop")
        assert _until(ws, run_id, "stopped")["id"] == run_id
        client.delete(f"/api/runs/{run_id}")
        while run_id not in ws.receive_json().get("removed", []):
            pass


def test_learners_get_the_config_and_never_the_runs(client: TestClient) -> None:
    client.post("/api/runs", json=SHORT_RUN)
    teacher = TestClient(client.app, base_url="http://localhost")
    as_learner(client)
    with client.websocket_connect("/api/class/events") as ws:
        assert ws.receive_json()["config"] is None
        # A teacher's push (the override makes this client a learner; the teacher is another
        # app user: it needs no override, so it goes through the app's own state).
        client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
        pushed = teacher.put("/api/class/config", json=PUSH).json()
        message = ws.receive_json()
        assert message == pushed  # the config, and nothing about anyone's runs before it
        teacher.delete("/api/class/config")
        assert ws.receive_json()["config"] is None


def test_the_teacher_can_ask_for_the_config_only(client: TestClient) -> None:
    client.post("/api/runs", json=SHORT_RUN)
    with client.websocket_connect("/api/class/events?runs=false") as ws:
        assert ws.receive_json()["type"] == "config"
        client.put("/api/class/config", json=PUSH)
        assert ws.receive_json()["type"] == "config"  # no snapshot came before it


def test_a_client_that_reads_nothing_is_dropped_not_buffered(tmp_path) -> None:
    """The feed's queue per client is bounded (app/runs/fanout.Watcher): a client whose socket
    takes nothing is dropped once MAX_QUEUE messages wait, and the others go on."""
    import asyncio

    from app.api.class_config import PushedConfig
    from app.api.class_feed import ClassFeed
    from app.runs.fanout import MAX_QUEUE, Watcher

    async def scenario() -> tuple[bool, int, bool, int]:
        stuck_forever = asyncio.Event()
        received: list[str] = []

        async def never(text: str) -> None:
            await stuck_forever.wait()

        async def reads(text: str) -> None:
            received.append(text)

        config = PushedConfig(tmp_path)
        feed = ClassFeed(runs=None, config=config)  # type: ignore[arg-type]  # config only
        slow, fast = Watcher(never), Watcher(reads)
        feed.add(slow, runs=False)
        feed.add(fast, runs=False)
        for _ in range(MAX_QUEUE + 5):
            feed.push_config(config.message())
            await asyncio.sleep(0)
        result = slow.closed.is_set(), len(slow.queue), fast.closed.is_set(), len(received)
        await feed.close()
        return result

    dropped, queued, fast_dropped, fast_got = asyncio.run(scenario())
    assert dropped and queued == 0  # dropped, its queue freed
    assert fast_got >= 30 and not fast_dropped

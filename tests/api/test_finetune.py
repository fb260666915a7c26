"""Issue 17 §2 over HTTP: the drawings a client POSTs train a run that starts from a model;
the run's evaluations (history and WebSocket) carry `drawings_accuracy`, its info `drawings`;
what can't be fine-tuned is a 4xx that says why. A real app (TestClient with its lifespan),
real SQLite, real worker processes; the shipped models are conftest's small stand-ins."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from fastapi.testclient import TestClient

from app.nn.network import Network
from app.settings import Settings

from .api_support import wait_for
from .test_class_mode import TEACHER, class_settings, learner

RUN = {"epochs": 1, "train_subset": 1000, "validation_size": 500}


def post_drawings(client: TestClient, n: int) -> list[str]:
    """`n` labelled drawings (blobs of ink in different places), posted as pixels."""
    ids = []
    for i in range(n):
        pixels = np.zeros((28, 28))
        pixels[4 + i % 12 : 12 + i % 12, 6:20] = 1.0
        r = client.post("/api/drawings", json={"pixels": pixels.ravel().tolist(), "label": i % 10})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def test_a_fine_tune_on_posted_drawings_reports_their_accuracy(client: TestClient) -> None:
    post_drawings(client, 10)
    body = {**RUN, "from_model": "accurate", "data": "mix", "drawings_fraction": 0.5}
    r = client.post("/api/runs", json=body)
    assert r.status_code == 201, r.text
    info = r.json()
    assert info["config"]["layers"] == [32]  # the stand-in accurate's architecture
    assert info["config"]["from_model"] == "accurate" and info["config"]["data"] == "mix"
    counts = info["drawings"]
    assert counts["held_out"] >= 1 and counts["train"] + counts["held_out"] == 10
    with client.websocket_connect(f"/api/runs/{info['id']}/events") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        while (message := ws.receive_json())["type"] != "evaluation":
            pass
    accuracy = message["drawings_accuracy"]
    assert isinstance(accuracy, float) and 0.0 <= accuracy <= 1.0
    wait_for(lambda: client.get(f"/api/runs/{info['id']}").json()["status"] == "finished", 120)
    run = client.get(f"/api/runs/{info['id']}").json()
    (evaluation,) = run["history"]["evaluations"]
    assert evaluation["drawings_accuracy"] == accuracy
    assert run["drawings"] == counts


def test_an_mnist_run_shows_null_drawings(client: TestClient) -> None:
    post_drawings(client, 3)
    info = client.post("/api/runs", json={**RUN, "layers": [16]}).json()
    assert info["drawings"] is None
    wait_for(lambda: client.get(f"/api/runs/{info['id']}").json()["status"] == "finished", 120)
    (evaluation,) = client.get(f"/api/runs/{info['id']}").json()["history"]["evaluations"]
    assert evaluation["drawings_accuracy"] is None


def _detail(r: object, status: int) -> str:
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    detail = r.json()["detail"]  # type: ignore[attr-defined]
    return detail if isinstance(detail, str) else str(detail)


def test_what_cannot_be_fine_tuned_is_a_4xx_that_says_why(client: TestClient) -> None:
    assert "no labelled drawings yet" in _detail(
        client.post("/api/runs", json={**RUN, "data": "drawings"}), 422
    )
    assert "m_nothere" in _detail(client.post("/api/runs", json={"from_model": "m_nothere"}), 404)
    post_drawings(client, 2)
    detail = _detail(client.post("/api/runs", json={"from_model": "accurate", "layers": [64]}), 422)
    assert "architecture comes from model accurate" in detail and "784-32-10" in detail
    assert "digits" in _detail(
        client.post("/api/runs", json={"data": "mix", "dataset": "fashion_mnist"}), 422
    )
    assert "drawings_fraction" in _detail(
        client.post("/api/runs", json={"data": "mix", "drawings_fraction": 1.5}), 422
    )
    assert "batch_size" in _detail(
        client.post("/api/runs", json={"data": "mix", "batch_size": 1}), 422
    )
    assert client.get("/api/runs").json()["runs"] == []  # nothing was created
    choices = client.get("/api/vocabulary").json()["choices"]
    assert choices["data"] == ["mnist", "drawings", "mix"]
    assert choices["drawings_pool"] == ["mine", "class"]


def test_an_empty_from_model_is_a_422_that_names_the_field(client: TestClient) -> None:
    # Review F3: "" is not a model id at all, so it is bad input (422), not a missing model.
    detail = _detail(client.post("/api/runs", json={**RUN, "from_model": ""}), 422)
    assert "from_model" in detail and "1 to" in detail
    assert client.get("/api/runs").json()["runs"] == []


def test_class_mode_someone_elses_private_model_is_403_and_the_class_pool_is_checked(
    make_client: Callable[[Settings], TestClient], settings: Settings
) -> None:
    teacher = make_client(class_settings(settings))
    alice, bob = learner(teacher), learner(teacher)
    alice_id = alice.get("/api/me").json()["id"]
    models = teacher.app.state.services.models  # type: ignore[attr-defined]
    entry = models.add(Network([784, 16, 10], "relu", "cross_entropy", seed=3), {},
                       name="alice's", owner=alice_id)  # fmt: skip
    post_drawings(bob, 3)
    r = bob.post("/api/runs", json={**RUN, "from_model": entry.id, "data": "mix"})
    assert "has not shared it" in _detail(r, 403)
    assert bob.get("/api/runs").json()["runs"] == []
    # The class dataset is empty until the teacher pools it.
    r = bob.post("/api/runs", json={**RUN, "data": "mix", "drawings_pool": "class"})
    assert "class dataset has no drawings" in _detail(r, 422)
    assert teacher.post("/api/class/drawings", headers=TEACHER).status_code in (200, 201)
    r = bob.post("/api/runs", json={**RUN, "data": "mix", "drawings_pool": "class"})
    assert r.status_code == 201, r.text
    assert r.json()["drawings"]["train"] + r.json()["drawings"]["held_out"] == 3
    bob.post(f"/api/runs/{r.json()['id']}/stop")
    # Alice may start from her own model.
    post_drawings(alice, 2)
    r = alice.post("/api/runs", json={**RUN, "from_model": entry.id, "data": "mix"})
    assert r.status_code == 201, r.text
    assert r.json()["config"]["layers"] == [16]
    alice.post(f"/api/runs/{r.json()['id']}/stop")


def test_class_mode_limits_apply_to_the_architecture_of_the_model_started_from(
    make_client: Callable[[Settings], TestClient], settings: Settings
) -> None:
    """The stand-in `accurate` is 784-32-10 (25,450 parameters): above a limit of 20,000 it
    can't be fine-tuned by a learner, though the request names no layers at all."""
    teacher = make_client(class_settings(settings, learner_max_parameters=20_000))
    pupil = learner(teacher)
    post_drawings(pupil, 3)
    r = pupil.post("/api/runs", json={**RUN, "from_model": "accurate", "data": "mix"})
    assert "25,450" in _detail(r, 403)
    assert pupil.post("/api/runs", json={**RUN, "layers": [16], "data": "mix"}).status_code == 201

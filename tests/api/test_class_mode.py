"""Class mode (issue 16): learners, owners, the teacher, limits and rate limits.

A real app with a real SQLite file (TestClient with its lifespan); two learners are two
clients with cookie jars of their own on the same app.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import WebSocket
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.websockets import WebSocketDisconnect

from app.api.identity import CurrentPrincipal
from app.settings import Settings
from bench.cross_learner import MUTATIONS, PIXELS, PRIVATE_USES, successes, try_all

from .api_support import LONG_RUN, wait_for

TEACHER_TOKEN = "teacher-token-for-tests-0123456789"
TEACHER = {"Authorization": f"Bearer {TEACHER_TOKEN}"}
SMALL_RUN = {**LONG_RUN, "train_subset": 2000}


def class_settings(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(
        update={"class_mode": True, "teacher_token": SecretStr(TEACHER_TOKEN), **changes}
    )


@pytest.fixture
def teacher_client(make_client: Callable[[Settings], TestClient], settings: Settings) -> TestClient:
    return make_client(class_settings(settings))


def learner(client: TestClient) -> TestClient:
    """Another browser on the same server: a cookie jar of its own, with an identity."""
    other = TestClient(client.app, base_url="http://localhost")
    assert other.get("/api/me").status_code == 200
    return other


def wait_running(http: TestClient, run_id: str) -> None:
    wait_for(lambda: http.get(f"/api/runs/{run_id}").json()["progress"]["step"] > 0, 120)


def test_first_visit_gets_a_signed_httponly_cookie_and_a_friendly_name(
    teacher_client: TestClient,
) -> None:
    browser = TestClient(teacher_client.app, base_url="http://localhost")
    r = browser.get("/", headers={"Accept": "text/html"})
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("nnp_id=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    me = browser.get("/api/me").json()
    assert me["class_mode"] is True and me["is_teacher"] is False
    adjective, _, animal = me["name"].partition("-")
    assert adjective and animal and me["id"].startswith("u_")
    # The same browser stays the same learner, and gets no new cookie.
    again = browser.get("/api/me")
    assert again.json() == me and "set-cookie" not in again.headers


def test_a_forged_cookie_is_not_an_identity(teacher_client: TestClient) -> None:
    a = learner(teacher_client)
    value = a.cookies["nnp_id"]
    learner_id, _, signature = value.rpartition(".")
    forged = TestClient(teacher_client.app, base_url="http://localhost")
    forged.cookies.set("nnp_id", f"local.{signature}")  # the teacher's id, a learner's signature
    assert forged.post("/api/runs", json=SMALL_RUN).status_code == 401
    me = forged.get("/api/me").json()
    assert me["is_teacher"] is False and me["id"] != learner_id


def test_api_clients_without_identity_may_read_but_not_create(
    teacher_client: TestClient,
) -> None:
    anonymous = TestClient(teacher_client.app, base_url="http://localhost")
    assert anonymous.get("/api/runs").status_code == 200
    assert anonymous.get("/api/models").status_code == 200
    r = anonymous.post("/api/predict", json={"pixels": PIXELS})
    assert r.status_code == 200
    r = anonymous.post("/api/runs", json=SMALL_RUN)
    assert r.status_code == 401 and "identity" in r.json()["detail"]
    assert r.headers["www-authenticate"] == "Bearer"
    assert anonymous.patch("/api/me", json={"name": "x"}).status_code == 401
    assert anonymous.post("/api/me/token").status_code == 401


def test_names_can_change_and_round_trip_as_text(teacher_client: TestClient) -> None:
    a = learner(teacher_client)
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'[:40]
    r = a.patch("/api/me", json={"name": payload})
    assert r.status_code == 200 and r.json()["name"] == payload
    assert a.get("/api/me").json()["name"] == payload
    run = a.post("/api/runs", json={**SMALL_RUN, "epochs": 1}).json()
    assert run["owner_name"] == payload  # JSON text, exactly as typed
    a.post(f"/api/runs/{run['id']}/stop")
    for bad in ["", "   ", "x" * 41, "two\nlines"]:
        r = a.patch("/api/me", json={"name": bad})
        assert r.status_code == 422, bad
    assert a.get("/api/me").json()["name"] == payload


def test_bearer_tokens_act_as_their_learner_everywhere(teacher_client: TestClient) -> None:
    a = learner(teacher_client)
    me = a.get("/api/me").json()
    token = a.post("/api/me/token").json()["token"]
    script = TestClient(teacher_client.app, base_url="http://localhost")
    auth = {"Authorization": f"Bearer {token}"}
    assert script.get("/api/me", headers=auth).json()["id"] == me["id"]
    run = script.post("/api/runs", json={**SMALL_RUN, "epochs": 1}, headers=auth).json()
    assert run["owner"] == me["id"]
    assert a.post(f"/api/runs/{run['id']}/stop").status_code == 200  # the cookie: same learner
    r = script.get("/api/me", headers={"Authorization": "Bearer nnp_not-a-token"})
    assert r.status_code == 401 and "not known" in r.json()["detail"]
    r = script.get("/api/me", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


def test_the_teacher_token_works_as_a_bearer_and_as_a_link(teacher_client: TestClient) -> None:
    me = teacher_client.get("/api/me", headers=TEACHER).json()
    assert me["is_teacher"] is True and me["class_mode"] is True
    browser = TestClient(teacher_client.app, base_url="http://localhost")
    r = browser.get(f"/?teacher={TEACHER_TOKEN}&theme=dark", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/?theme=dark"  # the token is gone from the URL
    assert "HttpOnly" in r.headers["set-cookie"]
    assert browser.get("/api/me").json()["is_teacher"] is True
    r = browser.get("/class?teacher=wrong", follow_redirects=False)
    assert r.status_code == 403
    assert browser.get("/api/class/limits").status_code == 200


def test_a_second_learner_can_change_nothing_of_the_first(teacher_client: TestClient) -> None:
    a, b = learner(teacher_client), learner(teacher_client)
    run = a.post("/api/runs", json=SMALL_RUN).json()
    assert run["owner"] == a.get("/api/me").json()["id"]
    wait_running(a, run["id"])
    model = a.post(f"/api/runs/{run['id']}/save", json={"name": "a's"}).json()
    assert model["owner"] == run["owner"] and model["shared"] is False
    results = try_all(b, MUTATIONS, run=run["id"], model=model["id"])
    uses = try_all(b, PRIVATE_USES, run=run["id"], model=model["id"])
    assert successes(results) == 0 and successes(uses) == 0, (results, uses)
    for label, status in {**results, **uses}.items():
        if label != "push class config":  # the dashboard's route (absent on this branch)
            assert status in (403,), (label, status)
    r = b.post(f"/api/runs/{run['id']}/stop")
    assert "only its owner" in r.json()["detail"]
    # Nothing changed: the run still trains, the model is still there and a's.
    assert a.get(f"/api/runs/{run['id']}").json()["status"] == "running"
    assert a.get(f"/api/models/{model['id']}").json()["name"] == "a's"
    # Once shared, b may use it (but still not change it).
    assert a.patch(f"/api/models/{model['id']}", json={"shared": True}).status_code == 200
    shared_uses = try_all(b, PRIVATE_USES[:3], run=run["id"], model=model["id"])
    assert all(status == 200 for status in shared_uses.values()), shared_uses
    assert b.delete(f"/api/models/{model['id']}").status_code == 403
    # The teacher may do all of it.
    assert teacher_client.post(f"/api/runs/{run['id']}/stop", headers=TEACHER).status_code == 200
    r = teacher_client.patch(f"/api/models/{model['id']}", json={"name": "t"}, headers=TEACHER)
    assert r.status_code == 200 and r.json()["owner"] == run["owner"]
    assert teacher_client.delete(f"/api/models/{model['id']}", headers=TEACHER).status_code == 204
    assert teacher_client.delete(f"/api/runs/{run['id']}", headers=TEACHER).status_code == 204


def test_mine_lists_only_the_callers_runs(teacher_client: TestClient) -> None:
    a, b = learner(teacher_client), learner(teacher_client)
    ra = a.post("/api/runs", json={**SMALL_RUN, "epochs": 1}).json()
    rb = b.post("/api/runs", json={**SMALL_RUN, "epochs": 1}).json()
    everyone = {r["id"] for r in b.get("/api/runs").json()["runs"]}
    mine = {r["id"] for r in b.get("/api/runs", params={"mine": 1}).json()["runs"]}
    assert {ra["id"], rb["id"]} <= everyone and mine == {rb["id"]}
    for http, run in ((a, ra), (b, rb)):
        http.post(f"/api/runs/{run['id']}/stop")


def test_learner_limits_refuse_and_change_nothing(teacher_client: TestClient) -> None:
    a = learner(teacher_client)
    first = a.post("/api/runs", json=SMALL_RUN).json()
    r = a.post("/api/runs", json=SMALL_RUN)  # the default: one active run per learner
    assert r.status_code == 409 and "active run" in r.json()["detail"]
    assert len(a.get("/api/runs", params={"mine": 1}).json()["runs"]) == 1
    big = {**SMALL_RUN, "layers": [400, 400]}  # 784·400+400·400+... > 300,000 parameters
    a.post(f"/api/runs/{first['id']}/stop")
    r = a.post("/api/runs", json=big)
    assert r.status_code == 403 and "parameters" in r.json()["detail"]
    # The teacher is exempt, and may change the limits (learners may not).
    assert a.patch("/api/class/limits", json={"active_runs": 5}).status_code == 403
    assert a.get("/api/class/limits").status_code == 403
    r = teacher_client.patch("/api/class/limits", json={"active_runs": 2}, headers=TEACHER)
    assert r.status_code == 200 and r.json()["active_runs"] == 2
    runs = [a.post("/api/runs", json=SMALL_RUN) for _ in range(3)]
    assert [r.status_code for r in runs] == [201, 201, 409]
    for r in runs[:2]:
        a.post(f"/api/runs/{r.json()['id']}/stop")


def test_model_limit_per_learner(
    make_client: Callable[[Settings], TestClient], settings: Settings
) -> None:
    client = make_client(class_settings(settings, learner_max_models=1))
    a = learner(client)
    run = a.post("/api/runs", json=SMALL_RUN).json()
    wait_running(a, run["id"])
    assert a.post(f"/api/runs/{run['id']}/save", json={"name": "one"}).status_code == 201
    r = a.post(f"/api/runs/{run['id']}/save", json={"name": "two"})
    assert r.status_code == 409 and "models" in r.json()["detail"]
    mine = [m for m in a.get("/api/models").json()["models"] if m["owner"] == run["owner"]]
    assert [m["name"] for m in mine] == ["one"]
    a.post(f"/api/runs/{run['id']}/stop")


def test_rate_limits_answer_429_with_retry_after(
    make_client: Callable[[Settings], TestClient], settings: Settings
) -> None:
    client = make_client(class_settings(settings, rate_predict=3, rate_runs=1))
    a = learner(client)
    body = {"pixels": PIXELS}
    statuses = [a.post("/api/predict", json=body).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    r = a.post("/api/predict", json=body)
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
    assert "at most 3" in r.json()["detail"]
    # Another learner has their own allowance; the teacher has none.
    assert learner(client).post("/api/predict", json=body).status_code == 200
    for _ in range(5):
        assert client.post("/api/predict", json=body, headers=TEACHER).status_code == 200
    run = a.post("/api/runs", json={**SMALL_RUN, "epochs": 1}).json()
    a.post(f"/api/runs/{run['id']}/stop")
    r = a.post("/api/runs", json={**SMALL_RUN, "epochs": 1})
    assert r.status_code == 429 and "retry-after" in r.headers


def test_a_restart_keeps_identities_and_ownership(
    make_client: Callable[[Settings], TestClient], settings: Settings
) -> None:
    cs = class_settings(settings)
    first = make_client(cs)
    a = learner(first)
    a.patch("/api/me", json={"name": "ada"})
    token = a.post("/api/me/token").json()["token"]
    run = a.post("/api/runs", json={**SMALL_RUN, "epochs": 1}).json()
    a.post(f"/api/runs/{run['id']}/stop")
    cookie = a.cookies["nnp_id"]
    first.__exit__(None, None, None)

    second = make_client(cs)
    again = TestClient(second.app, base_url="http://localhost")
    again.cookies.set("nnp_id", cookie)
    me = again.get("/api/me").json()
    assert me["name"] == "ada" and me["id"] == run["owner"]
    stored = again.get(f"/api/runs/{run['id']}").json()
    assert stored["owner"] == me["id"] and stored["owner_name"] == "ada"
    auth = {"Authorization": f"Bearer {token}"}
    assert again.get("/api/me", headers=auth).json()["id"] == me["id"]
    other = learner(second)
    assert other.delete(f"/api/runs/{run['id']}").status_code == 403
    assert again.delete(f"/api/runs/{run['id']}").status_code == 204


def test_secrets_are_kept_private_in_the_data_dir(
    make_client: Callable[[Settings], TestClient], settings: Settings
) -> None:
    make_client(settings.model_copy(update={"class_mode": True}))
    for name in ("cookie-key", "teacher-token"):
        mode = stat.S_IMODE(os.stat(Path(settings.data_dir) / name).st_mode)
        assert mode == 0o600, (name, oct(mode))


def test_without_class_mode_everyone_is_the_local_teacher(client: TestClient) -> None:
    me = client.get("/api/me").json()
    assert me == {"id": "local", "name": "teacher", "is_teacher": True, "class_mode": False}
    assert client.get("/api/class/limits").status_code == 200
    r = client.get("/", headers={"Accept": "text/html"})
    assert "set-cookie" not in r.headers
    models = client.get("/api/models").json()["models"]
    assert all(m["shared"] and m["owner"] is None for m in models if m["shipped"])


def test_model_names_with_markup_round_trip_as_text(teacher_client: TestClient) -> None:
    a = learner(teacher_client)
    run = a.post("/api/runs", json=SMALL_RUN).json()
    wait_running(a, run["id"])
    name = '<img src=x onerror="alert(1)">&amp;'
    model = a.post(f"/api/runs/{run['id']}/save", json={"name": name}).json()
    assert model["name"] == name
    renamed = a.patch(f"/api/models/{model['id']}", json={"name": "</script><b>x"}).json()
    assert renamed["name"] == "</script><b>x" and renamed["shared"] is False
    listed = {m["id"]: m for m in a.get("/api/models").json()["models"]}
    assert listed[model["id"]]["name"] == "</script><b>x"
    a.post(f"/api/runs/{run['id']}/stop")


def test_websockets_know_the_principal_too(teacher_client: TestClient) -> None:
    async def whoami(websocket: WebSocket, principal: CurrentPrincipal) -> None:
        await websocket.accept()
        await websocket.send_json({"id": principal.id, "teacher": principal.is_teacher})
        await websocket.close()

    teacher_client.app.add_api_websocket_route("/test/whoami", whoami)
    a = learner(teacher_client)
    me = a.get("/api/me").json()
    cookie = {"Cookie": f"nnp_id={a.cookies['nnp_id']}"}  # as a browser sends it
    with a.websocket_connect("/test/whoami", headers=cookie) as ws:
        assert ws.receive_json() == {"id": me["id"], "teacher": False}
    with a.websocket_connect("/test/whoami", headers=TEACHER) as ws:
        assert ws.receive_json() == {"id": "local", "teacher": True}
    bad = {"Authorization": "Bearer nope"}
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        a.websocket_connect("/test/whoami", headers=bad) as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 1008


def test_the_default_model_is_everyones_to_use(teacher_client: TestClient) -> None:
    a, b = learner(teacher_client), learner(teacher_client)
    run = a.post("/api/runs", json=SMALL_RUN).json()
    wait_running(a, run["id"])
    model = a.post(f"/api/runs/{run['id']}/save", json={"name": "a's"}).json()
    a.post(f"/api/runs/{run['id']}/stop")
    body = {"pixels": PIXELS, "model": model["id"]}
    assert b.post("/api/predict", json=body).status_code == 403
    r = teacher_client.put("/api/models/default", json={"id": model["id"]}, headers=TEACHER)
    assert r.status_code == 200
    assert b.post("/api/predict", json=body).json()["model"] == model["id"]
    assert b.post("/api/predict", json={"pixels": PIXELS}).json()["model"] == model["id"]

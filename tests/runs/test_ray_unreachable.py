"""A server pointed at a Ray cluster that is not there: it serves, and runs say why not."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from app.settings import Settings
from tests.api.api_support import SHORT_RUN
from tests.runs.ray_cluster import ONE
from tests.runs.support import free_port


def test_an_unreachable_cluster_is_named_and_predictions_go_on(
    make_client: Callable[[Settings], TestClient], settings: Settings
) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    client = make_client(settings.model_copy(update={"executor": "ray", "ray_address": address}))
    r = client.post("/api/runs", json=SHORT_RUN)
    assert r.status_code == 503, r.text
    assert f"the Ray cluster at {address} is unreachable" in r.json()["detail"]
    assert client.get("/api/runs").json()["runs"] == []  # nothing was created
    assert client.post("/api/predict", json=ONE).status_code == 200
    assert client.get("/healthz").status_code == 200

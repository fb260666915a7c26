"""Review #1 and #8: a model's export and its dreams are heavy work, so they go through the
app's bounded pool (WorkGate): 503 + Retry-After when it is busy; concurrent askers of the same
model's dreams share one computation and hold no request thread while they wait."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

import app.api.routers.models as models_router
import app.store.models as store_models
from app.settings import Settings
from tests.api.api_support import wait_for

# Starlette runs plain `def` routes in anyio's thread pool: 40 threads by default.
MORE_THAN_THE_REQUEST_THREADS = 45


@pytest.fixture
def one_slot(make_client: Callable[[Settings], TestClient], settings: Settings) -> TestClient:
    """One heavy slot, no queue: a second heavy request while one works is answered 503."""
    update = {"heavy_slots": 1, "heavy_wait_seconds": 0.2, "heavy_queue": 0}
    return make_client(settings.model_copy(update=update))


@pytest.fixture
def blocked_export(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, ...]]:
    """Exports wait for `release` (after setting `entered`), then export for real."""
    entered, release = threading.Event(), threading.Event()
    real = models_router.export_model

    def slow_export(*args: Any) -> Any:
        entered.set()
        release.wait(30)
        return real(*args)

    monkeypatch.setattr(models_router, "export_model", slow_export)
    yield entered, release
    release.set()


def test_exports_and_dreams_wait_for_the_heavy_pool_and_get_503_when_it_is_busy(
    one_slot: TestClient, blocked_export: tuple[threading.Event, ...]
) -> None:
    entered, release = blocked_export
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(one_slot.get, "/api/models/3b1b/export?format=json")
        assert entered.wait(30)
        export = pool.submit(one_slot.get, "/api/models/accurate/export?format=card")
        dreams = pool.submit(one_slot.get, "/api/models/accurate/dreams")
        try:
            # Without the gate both would run (and wait for the release): time out here.
            busy = [export.result(timeout=20), dreams.result(timeout=20)]
        finally:
            release.set()
        done = first.result(timeout=60)
    assert done.status_code == 200 and done.json()["sizes"] == [784, 16, 16, 10]
    for r in busy:
        assert r.status_code == 503, r.text
        assert int(r.headers["retry-after"]) >= 1 and "busy" in r.json()["detail"]
    # Once the slot is free, both are answered.
    assert one_slot.get("/api/models/accurate/export?format=card").status_code == 200
    assert one_slot.get("/api/models/accurate/dreams").status_code == 200


def test_concurrent_askers_of_a_models_dreams_share_one_computation_holding_no_thread(
    one_slot: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()
    real_dream = store_models.dream
    registry = one_slot.app.state.services.models  # type: ignore[attr-defined]
    asked = 0
    real_get = registry.get

    def counting_get(model_id: str | None) -> Any:
        nonlocal asked
        asked += model_id == "3b1b"
        return real_get(model_id)

    def slow_dream(network: Any) -> Any:  # a big model's ~50 s, until released
        started.set()
        release.wait(60)
        return real_dream(network)

    monkeypatch.setattr(store_models, "dream", slow_dream)
    monkeypatch.setattr(registry, "get", counting_get)
    before = registry.dreams_computed
    with ThreadPoolExecutor(MORE_THAN_THE_REQUEST_THREADS + 1) as pool:
        askers = [
            pool.submit(one_slot.get, "/api/models/3b1b/dreams")
            for _ in range(MORE_THAN_THE_REQUEST_THREADS)
        ]
        try:
            assert started.wait(30)
            wait_for(lambda: asked >= 40, timeout=30, interval=0.02)
            # Meanwhile a plain `def` route (it needs a request thread) still answers.
            listing = pool.submit(one_slot.get, "/api/models")
            try:
                listed = listing.result(timeout=15)
            except TimeoutError:
                listed = None
        finally:
            release.set()
        answers = [a.result(timeout=60) for a in askers]
    assert listed is not None, "GET /api/models waited: the dreams' askers held every thread"
    assert listed.status_code == 200
    assert [r.status_code for r in answers] == [200] * MORE_THAN_THE_REQUEST_THREADS
    assert len({str(r.json()["images"]) for r in answers}) == 1
    assert registry.dreams_computed == before + 1
    again = one_slot.get("/api/models/3b1b/dreams").json()
    assert again["cached"] is True and again["images"] == answers[0].json()["images"]


def test_the_schema_lists_503_for_export_and_dreams(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/models/{model_id}/export", "/api/models/{model_id}/dreams"):
        assert "503" in paths[path]["get"]["responses"], path

"""Issue 18, item 1: metadata that can't be served (a test accuracy of NaN) is refused before
anything is stored, and a stored row that can't be served never takes the model list down,
also after a restart (real server on 127.0.0.1, real SQLite file)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from app.main import DB_NAME
from app.nn.network import Network
from app.nn.serialize import model_to_bytes
from tests.store.live import Server


def upload(url: str, data: bytes, name: str = "m.npz") -> httpx.Response:
    return httpx.post(f"{url}/api/models", files={"file": (name, data)}, timeout=30)


def model_ids(url: str) -> set[str]:
    r = httpx.get(f"{url}/api/models", timeout=10)
    assert r.status_code == 200, r.text
    return {m["id"] for m in r.json()["models"]}


BAD_ACCURACIES = ["nan", "inf", "-inf", "NaN", 1.5, -0.1, "0.9", True, [0.5], {"a": 1}]


def test_an_upload_with_unservable_metadata_is_422_and_stores_nothing(
    tmp_path: Path, mnist_dir: Path
) -> None:
    with Server(tmp_path / "data", mnist_dir) as server:
        before = model_ids(server.url)
        for bad in BAD_ACCURACIES:
            data = model_to_bytes(Network([784, 4, 10], seed=0), {"test_accuracy": bad})
            r = upload(server.url, data)
            assert r.status_code == 422, (bad, r.text)
            assert "test_accuracy" in r.json()["detail"]
            assert model_ids(server.url) == before
            assert list((tmp_path / "data" / "models").glob("*.npz")) == []
        # A good one still goes in and comes back out.
        good = upload(server.url, model_to_bytes(Network([784, 4, 10], seed=0),
                                                 {"test_accuracy": 0.25}))  # fmt: skip
        assert good.status_code == 201 and good.json()["test_accuracy"] == 0.25
        server.stop()
        server.start()
        assert model_ids(server.url) == before | {good.json()["id"]}


def test_poisoned_rows_written_into_sqlite_are_listed_broken_and_can_be_deleted(
    tmp_path: Path, mnist_dir: Path
) -> None:
    data_dir = tmp_path / "data"
    with Server(data_dir, mnist_dir) as server:
        good = upload(server.url, model_to_bytes(Network([784, 4, 10], seed=1), {})).json()
        server.stop()
        # Rows no version of the server writes, straight into the database: each with a valid
        # model file beside it.
        poisoned = {
            "m_nan00001": ("nan", "2026-12-01T00:00:00Z", '{"test_accuracy": NaN}'),
            "m_inf00001": ("inf", "2026-12-01T00:00:01Z", '{"test_accuracy": Infinity}'),
            "m_text0001": ("text", "2026-12-01T00:00:02Z", '{"test_accuracy": "nan"}'),
            "m_json0001": ("json", "2026-12-01T00:00:03Z", "not json at all"),
            "m_blob0001": (b"\xff\xfe", "2026-12-01T00:00:04Z", "{}"),
            "m_list0001": ("list", "2026-12-01T00:00:05Z", "[1, 2]"),
        }
        with sqlite3.connect(data_dir / DB_NAME) as db:
            for model_id, (name, created, info) in poisoned.items():
                db.execute(
                    "INSERT INTO models VALUES (?, ?, ?, ?)", (model_id, name, created, info)
                )
                (data_dir / "models" / f"{model_id}.npz").write_bytes(
                    model_to_bytes(Network([784, 4, 10], seed=2), {})
                )
        db.close()
        for _ in range(2):  # and again after a restart
            server.start()
            r = httpx.get(f"{server.url}/api/models", timeout=10)
            assert r.status_code == 200, r.text
            listed = {m["id"]: m for m in r.json()["models"]}
            assert good["id"] in listed and not listed[good["id"]].get("broken")
            for model_id in poisoned:
                assert listed[model_id]["broken"] is True, listed[model_id]
                assert listed[model_id]["test_accuracy"] is None
                one = httpx.get(f"{server.url}/api/models/{model_id}", timeout=10)
                assert one.status_code == 200 and one.json()["broken"] is True
            body = {"pixels": [0.5] * 784, "model": good["id"]}
            predict = httpx.post(f"{server.url}/api/predict", json=body, timeout=10)
            assert predict.status_code == 200, predict.text
            server.stop()
        server.start()
        for model_id in poisoned:
            assert (
                httpx.delete(f"{server.url}/api/models/{model_id}", timeout=10).status_code == 204
            )
            assert not (data_dir / "models" / f"{model_id}.npz").exists()
        assert model_ids(server.url) >= {good["id"]}
        assert not model_ids(server.url) & set(poisoned)

"""Issue 18, item 4: a save killed between its file's rename and its database row leaves a
model file with no row. At start-up such files are adopted (review #10: removing them lost
every model after a lost database), and the upload quota counts every byte in the models
directory (real server, real SQLite file)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import httpx

from app.main import DB_NAME
from app.nn.network import Network
from app.nn.serialize import model_to_bytes
from tests.store.live import Server


def upload(url: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{url}/api/models", files={"file": ("m.npz", data)}, timeout=30)


def test_model_files_without_a_row_are_adopted_at_start_up(tmp_path: Path, mnist_dir: Path) -> None:
    """Review #10: such a file is adopted (its row written from the metadata it carries,
    checked as an upload is); one that is not a valid model is moved aside, never deleted."""
    data_dir = tmp_path / "data"
    models = data_dir / "models"
    with Server(data_dir, mnist_dir) as server:
        kept = upload(server.url, model_to_bytes(Network([784, 4, 10], seed=0), {})).json()
        server.stop()
        # What a kill -9 between the rename and the insert leaves: a complete file, no row.
        orphan = model_to_bytes(
            Network([784, 8, 10], seed=1),
            {"name": "never recorded", "created": "2026-12-01T10:00:00Z", "test_accuracy": 0.25},
        )
        for name in ("m_0rphan01.npz", "m_0rphan02.npz"):
            (models / name).write_bytes(orphan)
        (models / "m_0rphan03.npz").write_bytes(b"not a model")
        server.start()
        assert sorted(p.name for p in models.glob("*.npz")) == sorted(
            [f"{kept['id']}.npz", "m_0rphan01.npz", "m_0rphan02.npz"]
        )
        assert (models / "orphans" / "m_0rphan03.npz").read_bytes() == b"not a model"
        assert "adopted 2 model file(s) without a database row" in server.output()
        assert f"({2 * len(orphan)} bytes)" in server.output()
        assert "moved 1 model file(s) without a database row" in server.output()
        listed = httpx.get(f"{server.url}/api/models", timeout=10).json()["models"]
        by_id = {m["id"]: m for m in listed}
        assert kept["id"] in by_id and "m_0rphan03" not in by_id
        for model_id in ("m_0rphan01", "m_0rphan02"):
            model = by_id[model_id]
            assert model["name"] == "never recorded" and model["sizes"] == [784, 8, 10]
            assert model["created"] == "2026-12-01T10:00:00Z"
            assert model["test_accuracy"] == 0.25 and model["source_run"] is None
        r = httpx.post(
            f"{server.url}/api/predict",
            json={"pixels": [0.5] * 784, "model": "m_0rphan01"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        server.stop()
        server.start()  # adopted once: a row now, nothing more to adopt
        assert server.output().count("model file(s) without a database row") == 2


def test_a_lost_database_does_not_lose_the_models(tmp_path: Path, mnist_dir: Path) -> None:
    """Review #10: with the database deleted (to reset the runs, or lost), start-up used to
    delete every saved and uploaded model's weights. They are adopted again."""
    data_dir = tmp_path / "data"
    with Server(data_dir, mnist_dir) as server:
        ids, weights = [], {}
        for seed, name in ((0, "first"), (1, "second")):
            data = model_to_bytes(Network([784, 4 + seed, 10], seed=seed), {})
            r = httpx.post(
                f"{server.url}/api/models",
                files={"file": ("m.npz", data)},
                data={"name": name},
                timeout=30,
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        for model_id in ids:
            r = httpx.get(f"{server.url}/api/models/{model_id}/weights", timeout=30)
            weights[model_id] = r.content
        server.stop()
        (data_dir / DB_NAME).unlink()
        server.start()
        listed = httpx.get(f"{server.url}/api/models", timeout=10).json()["models"]
        names = {m["id"]: m["name"] for m in listed}
        assert {model_id: names.get(model_id) for model_id in ids} == dict(
            zip(ids, ["first", "second"], strict=True)
        )
        for model_id in ids:
            r = httpx.get(f"{server.url}/api/models/{model_id}/weights", timeout=30)
            assert r.content == weights[model_id]
        # They are uploads again: the upload quota counts them.
        listed_uploads = [m for m in listed if not m["shipped"] and m["source_run"] is None]
        assert {m["id"] for m in listed_uploads} == set(ids)


def test_the_upload_quota_counts_every_byte_in_the_models_directory(
    tmp_path: Path, mnist_dir: Path
) -> None:
    data_dir = tmp_path / "data"
    data = model_to_bytes(Network([784, 4, 10], seed=0), {})
    limit = 3 * len(data)
    with Server(data_dir, mnist_dir, NNP_MAX_UPLOADED_BYTES=str(limit)) as server:
        assert upload(server.url, data).status_code == 201
        # Bytes no row accounts for (an interrupted save's file) count too.
        (data_dir / "models" / "m_0rphan01.npz").write_bytes(b"\0" * (2 * len(data)))
        r = upload(server.url, data)
        assert r.status_code == 409, r.text
        assert "NNP_MAX_UPLOADED_BYTES" in r.json()["detail"]
        (data_dir / "models" / "m_0rphan01.npz").unlink()
        assert upload(server.url, data).status_code == 201


def test_temporary_files_of_interrupted_writes_are_removed_at_start_up(
    tmp_path: Path, mnist_dir: Path
) -> None:
    """Review #9: a kill -9 during a run's checkpoint (or final weights) leaves the temporary
    file of its atomic write in runs/; start-up removes it, as it does in models/."""
    data_dir = tmp_path / "data"
    with Server(data_dir, mnist_dir) as server:
        server.stop()
        leftovers = []
        for folder, name in (("runs", "r_0123abcd.npz"), ("models", "m_0123abcd.npz")):
            # Named as app/fileio.py's write_atomic names them.
            fd, tmp = tempfile.mkstemp(dir=data_dir / folder, prefix=f".{name}.", suffix=".tmp")
            os.write(fd, b"\0" * 100_000)
            os.close(fd)
            leftovers.append(Path(tmp))
        kept = data_dir / "runs" / "notes.tmp"  # not one of ours
        kept.write_bytes(b"keep")
        server.start()
        assert [p for p in leftovers if p.exists()] == []
        assert kept.exists()
        assert server.output().count("removing leftover temporary file") == 2

"""The SQLite store, atomic weight files, safe ids and the model registry."""

from __future__ import annotations

import io
import itertools
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from app.nn.network import Network
from app.nn.serialize import ModelFileError, load_model, model_to_bytes, save_model
from app.paths import SHIPPED_MODELS_DIR
from app.store.db import Store, StoredRun
from app.store.files import is_valid_id, path_for, write_atomic
from app.store.models import (
    ModelNotFound,
    ModelRegistry,
    NonFiniteModel,
    ShippedModelError,
    UploadLimitReached,
    UploadLimits,
    network_json_bytes,
)

ROOMY = UploadLimits(max_models=100, max_bytes=10**9)


def run(run_id: str, status: str = "queued") -> StoredRun:
    return StoredRun(run_id, status, {"epochs": 3, "layers": [16]}, "2026-11-23T20:00:00Z")


def test_runs_round_trip_with_history_in_chunks(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    store.add_run(run("r_1"))
    store.append_points("r_1", 0, {"step": [1, 2], "epoch": [0.1, 0.2], "cost": [2.0, None],
                                   "accuracy": [0.1, 0.2]})  # fmt: skip
    store.append_points("r_1", 2, {"step": [3], "epoch": [0.3], "cost": [1.0], "accuracy": [0.3]})
    # A chunk written twice (e.g. re-flushed after an error) overlaps: no duplicates on load.
    store.append_points("r_1", 1, {"step": [2, 3], "epoch": [0.2, 0.3], "cost": [None, 1.0],
                                   "accuracy": [0.2, 0.3]})  # fmt: skip
    store.update_run(
        "r_1",
        status="finished",
        evaluations=[{"epoch": 1, "test_accuracy": 0.9}],
        predictions=np.arange(10, dtype=np.uint8).tobytes(),
    )
    store.close()
    (loaded,) = Store(tmp_path / "db.sqlite3").load_runs()
    assert loaded.status == "finished" and loaded.config == {"epochs": 3, "layers": [16]}
    assert loaded.metrics["step"] == [1, 2, 3]
    assert loaded.metrics["cost"] == [2.0, None, 1.0]
    assert loaded.evaluations == [{"epoch": 1, "test_accuracy": 0.9}]
    assert np.frombuffer(loaded.predictions, np.uint8).tolist() == list(range(10))


def test_live_runs_become_interrupted(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    for run_id, status in [("a", "running"), ("b", "paused"), ("c", "finished"), ("d", "queued")]:
        store.add_run(run(run_id))
        store.update_run(run_id, status=status)
    assert store.mark_interrupted("gone", "2026-11-23T21:00:00Z") == 3
    statuses = {r.id: (r.status, r.reason) for r in store.load_runs()}
    assert statuses == {
        "a": ("interrupted", "gone"),
        "b": ("interrupted", "gone"),
        "c": ("finished", None),
        "d": ("interrupted", "gone"),
    }


def test_store_rejects_unknown_columns_and_keeps_meta(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    store.add_run(run("r"))
    with pytest.raises(ValueError, match="unknown run columns"):
        store.update_run("r", id="{}; DROP TABLE runs")
    store.set_meta("default_model", "x")
    store.set_meta("default_model", "y")
    assert store.get_meta("default_model") == "y" and store.get_meta("missing") is None
    assert store.delete_run("r") and not store.delete_run("r")


@pytest.mark.parametrize(
    "bad", ["", "../x", "a/b", ".hidden", "x" * 65, "a\x00b", "..", "a b", "é", "-x"]
)
def test_ids_cannot_escape_the_directory(tmp_path: Path, bad: str) -> None:
    assert not is_valid_id(bad)
    with pytest.raises(ValueError):
        path_for(tmp_path, bad)


def test_write_atomic(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "w.npz"
    write_atomic(target, b"first")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"second"  # the old file is intact
    assert os.listdir(target.parent) == ["w.npz"]  # and no temp file is left behind


def test_registry(tmp_path: Path) -> None:
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    save_model(shipped / "accurate.npz", Network([784, 8, 10], seed=0), {"test_accuracy": 0.9})
    (shipped / "broken.npz").write_bytes(b"garbage")  # skipped with a warning, not fatal
    store = Store(tmp_path / "db.sqlite3")
    registry = ModelRegistry(store, tmp_path / "models", shipped)
    registry.load()
    assert [e.id for e in registry.list()] == ["accurate"] and registry.default_id == "accurate"
    entry = registry.add_upload(
        model_to_bytes(Network([784, 4, 10], seed=1), {}), None, "up.npz", ROOMY
    )
    assert entry.name == "up" and entry.path.parent == tmp_path / "models"
    with pytest.raises(ModelFileError):
        registry.add_upload(b"junk", "x", None, ROOMY)
    with pytest.raises(ShippedModelError):
        registry.delete("accurate")
    with pytest.raises(ModelNotFound):
        registry.get("nope")
    registry.set_default(entry.id)
    # A second process over the same files sees the same models and default.
    again = ModelRegistry(store, tmp_path / "models", shipped)
    again.load()
    assert {e.id for e in again.list()} == {"accurate", entry.id}
    assert again.default_id == entry.id
    assert np.array_equal(again.get(entry.id).network.weights[0], entry.network.weights[0])
    again.delete(entry.id)
    assert again.default_id == "accurate" and not entry.path.exists()
    assert len(list((tmp_path / "models").iterdir())) == 0


def _registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(Store(tmp_path / "db.sqlite3"), tmp_path / "models", tmp_path / "none")


def test_a_saved_model_that_fails_to_load_is_listed_broken_and_can_be_deleted(
    tmp_path: Path,
) -> None:
    registry = _registry(tmp_path)
    registry.load()
    good = registry.add(Network([784, 4, 10], seed=0), {}, name="good")
    bad = registry.add(Network([784, 4, 10], seed=1), {}, name="bad")
    bad.path.write_bytes(b"damaged on disk")
    again = _registry(tmp_path)
    again.load()
    listed = {e.id: e.info() for e in again.list()}
    assert set(listed) == {good.id, bad.id}
    assert listed[bad.id]["broken"] is True and "not a valid model file" in listed[bad.id]["reason"]
    assert "broken" not in listed[good.id]
    with pytest.raises(ModelNotFound):  # not usable for predictions
        again.get(bad.id)
    again.delete(bad.id)
    assert not bad.path.exists() and [e.id for e in again.list()] == [good.id]
    third = _registry(tmp_path)
    third.load()
    assert [e.id for e in third.list()] == [good.id]  # the row is gone too


def test_start_up_removes_leftover_temporary_files(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    leftover = models / ".m_0123abcd.npz.k2j4h5.tmp"  # what write_atomic leaves on a kill -9
    leftover.write_bytes(b"\0" * 1000)
    unrelated = models / "notes.tmp"
    unrelated.write_bytes(b"keep")
    _registry(tmp_path).load()
    assert not leftover.exists() and unrelated.exists()


def test_non_finite_networks_are_neither_stored_nor_answered_as_json(tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    registry.load()
    net = Network([784, 4, 10], seed=0)
    net.biases[1][3] = np.nan
    with pytest.raises(NonFiniteModel, match="NaN or infinite"):
        registry.add(net, {}, name="diverged")
    with pytest.raises(NonFiniteModel):
        network_json_bytes(net)
    assert registry.list() == [] and list((tmp_path / "models").iterdir()) == []


def test_uploads_obey_the_training_parameter_limit(tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    registry.load()
    big = Network([784, 3200, 10], seed=0)  # 2,544,010 parameters > 2,500,000
    with pytest.raises(ModelFileError, match="more than the limit of 2,500,000"):
        registry.add_upload(model_to_bytes(big), None, "big.npz", ROOMY)
    ok = Network([784, 3000, 10], seed=0)  # 2,385,010
    assert registry.add_upload(model_to_bytes(ok), None, "ok.npz", ROOMY).name == "ok"


def _bomb(member_bytes: int) -> bytes:
    """A real model archive plus a member that inflates to `member_bytes` zeros."""
    buffer = io.BytesIO()
    base = zipfile.ZipFile(io.BytesIO(model_to_bytes(Network([784, 4, 10], seed=0), {})))
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in base.infolist():
            archive.writestr(info.filename, base.read(info))
        archive.writestr("padding.npy", b"\0" * member_bytes)
    return buffer.getvalue()


def test_uploads_that_unpack_past_the_limit_are_refused_unopened(tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    registry.load()
    bomb = _bomb(30_000_000)  # 30 MB of zeros: about 30 KB compressed
    assert len(bomb) < 100_000
    with pytest.raises(ModelFileError, match="unpacks to 30,0"):
        registry.add_upload(bomb, None, "bomb.npz", ROOMY)
    assert registry.list() == []


def test_upload_limits_count_and_bytes(tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    registry.load()
    data = model_to_bytes(Network([784, 4, 10], seed=0), {})
    two = UploadLimits(max_models=2, max_bytes=10**9)
    first = registry.add_upload(data, "a", None, two)
    registry.add_upload(data, "b", None, two)
    with pytest.raises(UploadLimitReached, match="2 uploaded models"):
        registry.add_upload(data, "c", None, two)
    # A model saved from a run is not an upload: it doesn't count.
    registry.add(Network([784, 4, 10], seed=3), {"source_run": "r_1"}, name="trained")
    size = first.path.stat().st_size
    registry.delete(first.id)
    assert registry.add_upload(data, "c", None, two).name == "c"
    tight = UploadLimits(max_models=100, max_bytes=size * 2)
    with pytest.raises(UploadLimitReached, match="bytes"):
        registry.add_upload(data, "d", None, tight)
    assert sorted(e.name for e in registry.list()) == ["b", "c", "trained"]


def test_network_json_is_complete_for_the_shipped_models() -> None:
    for path in sorted(SHIPPED_MODELS_DIR.glob("*.npz")):
        net, _ = load_model(path)
        answer = json.loads(network_json_bytes(net))
        assert answer["downsampled"] is False and answer["kept_per_layer"] is None, path.name
        for w, got in zip(net.weights, answer["weights"], strict=True):
            np.testing.assert_array_equal(np.array(got, np.float32), w)


def test_network_json_of_a_big_network_keeps_each_layers_strongest_weights() -> None:
    rng = np.random.default_rng(5)
    sizes = [784, 1000, 40, 10]  # 824,400 weights
    weights = [rng.normal(size=(o, i)).astype(np.float32) for i, o in itertools.pairwise(sizes)]
    biases = [rng.normal(size=o).astype(np.float32) for o in sizes[1:]]
    net = Network.from_parameters(weights, biases, "relu", "cross_entropy")
    data = network_json_bytes(net)
    assert len(data) < 2 * 824_400 + 500_000  # about 2 bytes per dropped weight
    answer = json.loads(data)
    assert answer["downsampled"] is True and answer["kept_per_layer"] == 2000
    assert answer["sizes"] == sizes
    for w, b, got_w, got_b in zip(
        weights, biases, answer["weights"], answer["biases"], strict=True
    ):
        got = np.array(got_w, np.float32)
        assert got.shape == w.shape
        np.testing.assert_array_equal(np.array(got_b, np.float32), b)
        kept = got != 0
        expected = min(w.size, 2000)
        assert kept.sum() == expected
        np.testing.assert_array_equal(got[kept], w[kept])  # kept values are exact
        # ... and they are the strongest: none dropped is stronger than the weakest kept.
        assert np.abs(w[~kept]).max(initial=0) <= np.abs(w[kept]).min()

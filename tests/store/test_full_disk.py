"""The store on a real full disk (a 2 MB tmpfs; needs root, as CI has): new things are refused
with StorageFull, deletes and a run's status still go through, and the database opens again
on the full disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.nn.network import Network
from app.store.db import Store, StoredRun
from app.store.disk import StorageFull
from app.store.models import ModelRegistry

from .live import fill_disk, tmpfs

CREATED = "2026-12-04T00:00:00Z"


def points(n: int) -> dict[str, list[float]]:
    return {key: [float(i) for i in range(n)] for key in ("step", "epoch", "cost", "accuracy")}


def test_on_a_full_disk_new_runs_are_refused_and_deletes_and_statuses_work(
    tmp_path: Path,
) -> None:
    with tmpfs(tmp_path / "disk", "2m") as disk:
        store = Store(disk / "db.sqlite3")
        for k in range(6):
            store.add_run(StoredRun(f"r_{k}", "running", {"epochs": 1}, CREATED))
            for start in range(0, 2000, 500):
                store.append_points(f"r_{k}", start, points(500))
        fill_disk(disk)
        # New runs fit while the database file has free pages, then are refused.
        with pytest.raises(StorageFull, match="disk is full: could not store the run"):
            for k in range(10, 1000):
                store.add_run(StoredRun(f"r_{k}", "queued", {"epochs": 1, "pad": "x" * 4000},
                                        CREATED))  # fmt: skip
        with pytest.raises(StorageFull, match="disk is full"):
            for start in range(2000, 200_000, 500):  # not essential: no reserve for metrics
                store.append_points("r_0", start, points(500))
        assert store.reserve.present  # neither touched it
        store.update_run("r_1", status="failed", reason="the disk is full", finished=CREATED)
        assert store.delete_run("r_2")
        store.close()
        fill_disk(disk, "filler2")  # whatever the delete freed

        again = Store(disk / "db.sqlite3")  # opens on the full disk
        assert again.mark_interrupted("server restarted", CREATED) == 4  # r_0, r_3, r_4, r_5
        assert again.delete_run("r_3") and again.delete_run("r_4")
        runs = {run.id: run for run in again.load_runs()}
        assert {"r_0", "r_1", "r_5"} <= set(runs) and not {"r_2", "r_3", "r_4"} & set(runs)
        assert runs["r_1"].status == "failed" and runs["r_5"].status == "interrupted"
        again.close()


def test_on_a_full_disk_a_model_is_refused_whole_and_deleting_one_frees_room(
    tmp_path: Path,
) -> None:
    with tmpfs(tmp_path / "disk", "3m") as disk:
        registry = ModelRegistry(Store(disk / "db.sqlite3"), disk / "models", disk / "none")
        registry.load()
        first = registry.add(Network([784, 128, 10], seed=0), {}, name="first")
        fill_disk(disk)
        with pytest.raises(StorageFull, match="could not store the model"):
            registry.add(Network([784, 128, 10], seed=1), {}, name="second")
        assert [p.name for p in (disk / "models").iterdir()] == [first.path.name]
        registry.delete(first.id)
        assert registry.list() == [] and not first.path.exists()
        # The room the delete freed takes a model again.
        registry.add(Network([784, 16, 10], seed=2), {}, name="third")
        registry.store.close()
        registry = ModelRegistry(Store(disk / "db.sqlite3"), disk / "models", disk / "none")
        registry.load()
        assert [e.name for e in registry.list()] == ["third"]

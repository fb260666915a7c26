"""app/store/drawings.py (issue 17): drawings in a real SQLite file and a real directory; the
LabelledSet the run layer trains on; limits; nothing half-written; bad rows skipped."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from app.data.drawing_sets import PreparedDrawing, prepare
from app.store.db import Store
from app.store.drawings import (
    DrawingLimits,
    DrawingNotFound,
    DrawingStore,
    LabelledSet,
    TooManyDrawings,
)
from tests.data.drawing_zips import stroke_png


def pixels_drawing(seed: int) -> PreparedDrawing:
    x = np.random.default_rng(seed).random(784).astype(np.float32)
    x[x < 0.5] = 0
    return prepare(None, x, 10**6)


@pytest.fixture
def store(tmp_path: Path) -> DrawingStore:
    drawings = DrawingStore(
        Store(tmp_path / "db.sqlite3"), tmp_path / "drawings", DrawingLimits(max_per_owner=5)
    )
    drawings.load()
    return drawings


def test_a_drawing_is_its_png_file_and_its_row(store: DrawingStore, tmp_path: Path) -> None:
    png = stroke_png(2)
    made = store.add("u_1", 2, "correction", prepare(png, None, 10**6))
    assert store.path(made.id).read_bytes() == png
    assert store.get(made.id) == made
    assert (made.label, made.owner, made.source, made.width, made.height, made.bytes) == (
        2, "u_1", "correction", 280, 280, len(png))  # fmt: skip
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        (blob,) = db.execute("SELECT input FROM drawings WHERE id = ?", (made.id,)).fetchone()
    np.testing.assert_array_equal(np.frombuffer(blob, np.float32), prepare(png, None, 10**6).input)


def test_labelled_set_is_the_owners_inputs_in_creation_order(store: DrawingStore) -> None:
    made = [pixels_drawing(k) for k in range(4)]
    ids = [
        store.add("u_1", label, "example", d).id
        for label, d in zip([5, 0, 9, 5], made, strict=True)
    ]
    store.add("u_2", 1, "example", pixels_drawing(9))
    got = store.labelled_set("mine", "u_1")
    assert isinstance(got, LabelledSet)
    assert got.images.dtype == np.float32 and got.images.shape == (4, 784)
    assert got.labels.dtype == np.uint8 and got.labels.tolist() == [5, 0, 9, 5]
    assert got.ids == tuple(ids)
    np.testing.assert_array_equal(got.images, np.stack([d.input for d in made]))
    empty = store.labelled_set("mine", "nobody")
    assert empty.images.shape == (0, 784) and empty.labels.shape == (0,) and empty.ids == ()


def test_the_class_pool_is_a_snapshot_of_everyones_drawings(store: DrawingStore) -> None:
    assert store.class_summary().count == 0 and store.class_summary().pooled_at is None
    a = store.add("u_1", 3, "example", pixels_drawing(1))
    b = store.add("u_2", 4, "example", pixels_drawing(2))
    summary = store.pool_class()
    assert summary.count == 2 and summary.counts[3] == 1 and summary.counts[4] == 1
    assert summary.pooled_at is not None
    store.delete(a.id)  # later changes don't change the snapshot
    store.relabel(b.id, 8)
    for who in ("u_1", "u_2", "u_3"):
        pooled = store.labelled_set("class", who)
        assert pooled.ids == (a.id, b.id) and pooled.labels.tolist() == [3, 4]
    assert store.clear_class().count == 0
    assert store.labelled_set("class", "u_1").ids == ()


def test_crud_and_counts(store: DrawingStore) -> None:
    a = store.add("u_1", 1, "example", pixels_drawing(1))
    store.add("u_1", 1, "correction", pixels_drawing(2))
    assert store.counts("u_1") == {**dict.fromkeys(range(10), 0), 1: 2}
    assert store.relabel(a.id, 7).label == 7
    store.delete(a.id)
    assert not store.path(a.id).exists()
    with pytest.raises(DrawingNotFound):
        store.get(a.id)
    with pytest.raises(DrawingNotFound):
        store.delete(a.id)
    with pytest.raises(DrawingNotFound):
        store.relabel(a.id, 1)
    assert [d.label for d in store.of("u_1")] == [1]


def test_an_owner_keeps_at_most_the_limit(store: DrawingStore) -> None:
    store.add_many("u_1", "import", [(1, pixels_drawing(k)) for k in range(4)])
    with pytest.raises(TooManyDrawings, match="2 more would be over the limit of 5"):
        store.add_many("u_1", "import", [(1, pixels_drawing(k)) for k in range(2)])
    store.add("u_1", 1, "example", pixels_drawing(7))
    with pytest.raises(TooManyDrawings, match="one more"):
        store.add("u_1", 1, "example", pixels_drawing(8))
    store.add("u_2", 1, "example", pixels_drawing(8))  # per owner
    assert store.count("u_1") == 5


def test_a_failed_batch_leaves_no_file_and_no_row(
    store: DrawingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store.store, "transaction", broken)
    with pytest.raises(sqlite3.OperationalError):
        store.add_many("u_1", "import", [(1, pixels_drawing(k)) for k in range(3)])
    with pytest.raises(sqlite3.OperationalError):
        store.add("u_1", 1, "example", pixels_drawing(4))
    assert list(store.directory.iterdir()) == []
    monkeypatch.undo()
    assert store.of(None) == []


def test_rows_that_cant_be_served_are_skipped_with_a_log_line(
    store: DrawingStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = store.add("u_1", 1, "example", pixels_drawing(1))
    bad = store.add("u_1", 2, "example", pixels_drawing(2))
    short = store.add("u_1", 3, "example", pixels_drawing(3))
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        db.execute("UPDATE drawings SET label = 12, source = 'x' WHERE id = ?", (bad.id,))
        db.execute("UPDATE drawings SET input = x'00' WHERE id = ?", (short.id,))
    with caplog.at_level(logging.WARNING):
        listed = store.of("u_1")
        trained = store.labelled_set("mine", "u_1")
    assert [d.id for d in listed] == [good.id, short.id]
    assert trained.ids == (good.id,)
    assert bad.id in caplog.text and short.id in caplog.text
    assert store.pool_class().count == 1


def test_start_up_removes_images_without_a_row(store: DrawingStore) -> None:
    kept = store.add("u_1", 1, "example", pixels_drawing(1))
    (store.directory / "d_0123456789abcdef.png").write_bytes(b"half")
    (store.directory / ".d_1.png.abc.tmp").write_bytes(b"temp")
    store.load()
    assert sorted(p.name for p in store.directory.iterdir()) == [f"{kept.id}.png"]


def test_export_items_are_the_owners_with_their_png_and_input(
    store: DrawingStore, caplog: pytest.LogCaptureFixture
) -> None:
    png = stroke_png(6)
    a = store.add("u_1", 6, "example", prepare(png, None, 10**6))
    b = store.add("u_1", 2, "example", pixels_drawing(2))
    store.add("u_2", 1, "example", pixels_drawing(3))
    items = store.export_items("u_1")
    assert [(i.name, i.label) for i in items] == [(a.id, 6), (b.id, 2)]
    assert items[0].png == png
    np.testing.assert_array_equal(items[1].input, pixels_drawing(2).input)
    store.path(a.id).unlink()  # an image lost by hand: left out, logged
    with caplog.at_level(logging.WARNING):
        assert [i.name for i in store.export_items("u_1")] == [b.id]
    assert a.id in caplog.text

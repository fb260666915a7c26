"""Labelled drawings (issue 17): each one's original image as `<data_dir>/drawings/<id>.png`,
and a row in SQLite with its label, owner, source, size and the network's input (float32 ×
784, as predict made it). The class dataset is a snapshot of every drawing, pooled by the
teacher. The run layer reads both through `DrawingStore.labelled_set`.

Writes follow the models' rules (app/store/models.py): the file first (atomically), then the
row that points at it; a full disk is StorageFull with nothing half-written; deletes work on
a full disk (the row goes first, with the reserve if need be, then the file).
"""

from __future__ import annotations

import logging
import math
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.data.drawing_sets import INPUT_SIZE, ExportItem, PreparedDrawing
from app.nn.vocab import DRAWING_SOURCES, DrawingSource, DrawingsPool
from app.store.db import Store
from app.store.disk import is_disk_full, storage_full
from app.store.drawing_files import remove_files, write_new
from app.store.files import (
    is_valid_id,
    orphan_files,
    path_for,
    remove_leftover_temps,
    write_atomic,
)

log = logging.getLogger(__name__)

INPUT_BYTES = INPUT_SIZE * 4  # float32
POOLED_AT_KEY = "class_drawings_pooled_at"
LABELS = tuple(range(10))
_SOURCES: dict[str, DrawingSource] = {source: source for source in DRAWING_SOURCES}
_COLUMNS = "id, owner, label, source, created, width, height, bytes"


@dataclass(frozen=True)
class LabelledSet:
    images: np.ndarray  # float32 (n, 784) in 0..1, the network's input
    labels: np.ndarray  # uint8 (n,)
    ids: tuple[str, ...]  # ordered by creation


@dataclass(frozen=True)
class Drawing:
    id: str
    owner: str
    label: int
    source: DrawingSource
    created: float  # epoch seconds
    width: int
    height: int
    bytes: int  # the PNG's size


@dataclass(frozen=True)
class ClassSummary:
    count: int
    counts: dict[int, int]
    pooled_at: float | None  # epoch seconds; None: never pooled (or emptied)


@dataclass(frozen=True)
class DrawingLimits:
    max_per_owner: int  # drawings one owner may keep


class DrawingNotFound(KeyError):
    pass


class TooManyDrawings(Exception):
    """The owner already keeps as many drawings as the limit allows (→ 409)."""


def _row(values: Sequence[object]) -> Drawing | str:
    """A stored row as a Drawing, or why it can't be served."""
    did, owner, label, source, created, width, height, size = values
    if not isinstance(did, str) or not is_valid_id(did):
        return f"invalid id {did!r:.40}"
    if not isinstance(owner, str) or not owner:
        return "invalid owner"
    if not isinstance(label, int) or label not in LABELS:
        return f"invalid label {label!r:.20}"
    kind = _SOURCES.get(source) if isinstance(source, str) else None
    if kind is None:
        return f"invalid source {source!r:.20}"
    if not isinstance(created, int | float) or not math.isfinite(created):
        return f"invalid created {created!r:.20}"
    if not all(isinstance(v, int) and v >= 0 for v in (width, height, size)):
        return "invalid size"
    assert isinstance(width, int) and isinstance(height, int) and isinstance(size, int)
    return Drawing(did, owner, label, kind, float(created), width, height, size)


def _input(blob: object) -> np.ndarray | None:
    """A stored input as float32 (784,), None when it is not one (wrong size, NaN, out of
    0..1)."""
    if not isinstance(blob, bytes) or len(blob) != INPUT_BYTES:
        return None
    x = np.frombuffer(blob, np.float32)
    if not (np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0):
        return None
    return x


def _blob(x: np.ndarray) -> bytes:
    return np.ascontiguousarray(x, np.float32).reshape(INPUT_SIZE).tobytes()


def _counts(pairs: Sequence[Sequence[object]]) -> dict[int, int]:
    counts = dict.fromkeys(LABELS, 0)
    for label, count in pairs:
        if isinstance(label, int) and label in counts and isinstance(count, int):
            counts[label] = count
    return counts


class DrawingStore:
    """Every owner's drawings and the class dataset. One per process (the web layer's
    Services.drawings); thread-safe (the store serialises its statements, and one lock keeps an
    owner's count and the add that checks it together)."""

    def __init__(
        self,
        store: Store,
        directory: Path,
        limits: DrawingLimits,
        names: Callable[[str], str] = str,
    ) -> None:
        self.store = store
        self.directory = directory
        self.limits = limits
        self.names = names  # an owner id's display name (app/store/learners.py)
        self._add_lock = threading.Lock()
        self._unservable: set[str] = set()  # ids already logged as not servable

    def load(self) -> None:
        """At start-up: remove what interrupted writes left (temporary files, and images
        whose row was never committed: the row is what stores a drawing)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        remove_leftover_temps(self.directory, ".png")
        keep = {row[0] for row in self.store.query("SELECT id FROM drawings")}
        stray = orphan_files(self.directory, {k for k in keep if isinstance(k, str)}, ".png")
        for path in stray:
            log.warning("removing the drawing image %s: it has no row (an interrupted add)", path)
        remove_files(stray)

    def path(self, drawing_id: str) -> Path:
        return path_for(self.directory, drawing_id, ".png")

    def owner_name(self, drawing: Drawing) -> str:
        return self.names(drawing.owner)

    # -- reading ----------------------------------------------------------------------------

    def _served(self, rows: Sequence[Sequence[object]]) -> list[Drawing]:
        """The rows that can be served; each other one is logged (once) and skipped."""
        found = []
        for values in rows:
            drawing = _row(values)
            if isinstance(drawing, Drawing):
                found.append(drawing)
                continue
            key = str(values[0])[:64]
            if key not in self._unservable:
                self._unservable.add(key)
                log.warning("skipping the stored drawing %.64r: %s", values[0], drawing)
        return found

    def of(self, owner: str | None) -> list[Drawing]:
        """`owner`'s drawings (everyone's for None), in the order they were made."""
        where, params = ("WHERE owner = ?", (owner,)) if owner is not None else ("", ())
        rows = self.store.query(
            f"SELECT {_COLUMNS} FROM drawings {where} ORDER BY created, id", params
        )
        return self._served(rows)

    def get(self, drawing_id: str) -> Drawing:
        rows = self.store.query(f"SELECT {_COLUMNS} FROM drawings WHERE id = ?", (drawing_id,))
        found = self._served(rows)
        if not found:
            raise DrawingNotFound(f"no drawing with id {drawing_id!r}")
        return found[0]

    def count(self, owner: str) -> int:
        (row,) = self.store.query("SELECT COUNT(*) FROM drawings WHERE owner = ?", (owner,))
        return int(str(row[0]))

    def counts(self, owner: str | None) -> dict[int, int]:
        """How many drawings of each digit `owner` keeps (everyone's for None)."""
        where, params = ("WHERE owner = ?", (owner,)) if owner is not None else ("", ())
        rows = self.store.query(
            f"SELECT label, COUNT(*) FROM drawings {where} GROUP BY label", params
        )
        return _counts(rows)

    def inputs(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The network input of each of `ids` that has a well-formed one."""
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(ids), 500):  # SQLite's limit on parameters
            chunk = ids[start : start + 500]
            marks = ",".join("?" for _ in chunk)
            rows = self.store.query(f"SELECT id, input FROM drawings WHERE id IN ({marks})", chunk)
            for did, blob in rows:
                x = _input(blob)
                if isinstance(did, str) and x is not None:
                    found[did] = x
        return found

    def export_items(self, owner: str) -> list[ExportItem]:
        """`owner`'s drawings with their inputs and PNGs, for an export (one whose image file
        can't be read is left out, with a log line)."""
        found = self.of(owner)
        inputs = self.inputs([d.id for d in found])
        items = []
        for drawing in found:
            x = inputs.get(drawing.id)
            try:
                png = self.path(drawing.id).read_bytes()
            except OSError as exc:
                log.warning("leaving drawing %s out of the export: %s", drawing.id, exc)
                continue
            if x is not None:
                items.append(ExportItem(drawing.id, drawing.label, x, png))
        return items

    def labelled_set(self, pool: DrawingsPool, owner: str) -> LabelledSet:
        """The drawings a run trains on: `owner`'s own ("mine"), or the class dataset
        ("class", the same for everyone), in the order they were made. Rows whose label or
        input is not well-formed are left out (with a log line)."""
        if pool == "class":
            rows = self.store.query(
                "SELECT drawing_id, label, input FROM class_drawings ORDER BY pos"
            )
        else:
            rows = self.store.query(
                "SELECT id, label, input FROM drawings WHERE owner = ? ORDER BY created, id",
                (owner,),
            )
        ids: list[str] = []
        labels: list[int] = []
        blobs: list[bytes] = []
        for did, label, blob in rows:
            x = _input(blob)
            if not isinstance(did, str) or not isinstance(label, int) or label not in LABELS:
                x = None
            if x is None:
                if str(did) not in self._unservable:
                    self._unservable.add(str(did))
                    log.warning("leaving the drawing %.64r out of training: bad row", did)
                continue
            ids.append(str(did))
            labels.append(int(str(label)))
            blobs.append(x.tobytes())
        images = np.frombuffer(b"".join(blobs), np.float32).reshape(len(ids), INPUT_SIZE)
        return LabelledSet(images.copy(), np.array(labels, np.uint8), tuple(ids))

    # -- changes ----------------------------------------------------------------------------

    def _new_id(self) -> str:
        return f"d_{secrets.token_hex(8)}"

    def _check_room(self, owner: str, adding: int) -> None:
        have = self.count(owner)
        limit = self.limits.max_per_owner
        if have + adding > limit:
            more = "one more" if adding == 1 else f"{adding:,} more"
            raise TooManyDrawings(
                f"you keep {have:,} drawings; {more} would be over the limit of {limit:,} "
                "(NNP_DRAWINGS_MAX_PER_OWNER): delete some first"
            )

    def add(
        self, owner: str, label: int, source: DrawingSource, drawing: PreparedDrawing
    ) -> Drawing:
        """Store one drawing: its image file first (atomically), then its row. StorageFull
        on a full disk, TooManyDrawings over the owner's limit; nothing is left behind."""
        return self.add_many(owner, source, [(label, drawing)])[0]

    def add_many(
        self,
        owner: str,
        source: DrawingSource,
        drawings: Sequence[tuple[int, PreparedDrawing]],
    ) -> list[Drawing]:
        """Store drawings all or none: every image file (synced once), then every row in one
        transaction. The errors of `add`."""
        what = "store the drawing" if len(drawings) == 1 else "store the drawings"
        with self._add_lock:
            self._check_room(owner, len(drawings))
            self.store.ensure_room(what)
            now = time.time()
            made = [
                Drawing(self._new_id(), owner, label, source, now + k * 1e-6, d.width,
                        d.height, len(d.png))
                for k, (label, d) in enumerate(drawings)
            ]  # fmt: skip
            files = [(self.path(m.id), d.png) for m, (_, d) in zip(made, drawings, strict=True)]
            self._write_files(files, what)
            rows = [
                (m.id, m.owner, m.label, m.source, m.created, m.width, m.height, m.bytes,
                 _blob(d.input))
                for m, (_, d) in zip(made, drawings, strict=True)
            ]  # fmt: skip
            try:
                self.store.transaction(
                    lambda db: db.executemany(
                        f"INSERT INTO drawings ({_COLUMNS}, input) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows,
                    ),
                    what,
                    new=True,
                )
            except BaseException:
                remove_files(path for path, _ in files)
                raise
        return made

    def _write_files(self, files: list[tuple[Path, bytes]], what: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if len(files) == 1:  # one drawing: the atomic write, as a model's file
            path, data = files[0]
            try:
                write_atomic(path, data)
            except OSError as exc:
                if is_disk_full(exc):
                    raise storage_full(what, exc) from exc
                raise
            return
        write_new(files, what)

    def relabel(self, drawing_id: str, label: int) -> Drawing:
        changed = self.store.execute(
            "UPDATE drawings SET label = ? WHERE id = ?",
            (label, drawing_id),
            "relabel the drawing",
            new=False,
        )
        if not changed:
            raise DrawingNotFound(f"no drawing with id {drawing_id!r}")
        return self.get(drawing_id)

    def delete(self, drawing_id: str) -> None:
        """The row first (with the reserve on a full disk), then the image file."""
        removed = self.store.execute(
            "DELETE FROM drawings WHERE id = ?", (drawing_id,), "delete the drawing", new=False
        )
        if not removed:
            raise DrawingNotFound(f"no drawing with id {drawing_id!r}")
        remove_files([self.path(drawing_id)])

    # -- the class dataset ------------------------------------------------------------------

    def class_summary(self) -> ClassSummary:
        rows = self.store.query("SELECT label, COUNT(*) FROM class_drawings GROUP BY label")
        counts = _counts(rows)
        stored = self.store.get_meta(POOLED_AT_KEY)
        try:
            pooled_at = float(stored) if stored else None
        except ValueError:
            pooled_at = None
        if pooled_at is not None and not math.isfinite(pooled_at):
            pooled_at = None
        return ClassSummary(sum(counts.values()), counts, pooled_at)

    def pool_class(self) -> ClassSummary:
        """Replace the class dataset with a snapshot of everyone's current drawings (those
        with a well-formed label and input), in the order they were made."""

        def work(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM class_drawings")
            db.execute(
                "INSERT INTO class_drawings (drawing_id, owner, label, input) "
                "SELECT id, owner, label, input FROM drawings "
                "WHERE label BETWEEN 0 AND 9 AND length(input) = ? ORDER BY created, id",
                (INPUT_BYTES,),
            )
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (POOLED_AT_KEY, repr(time.time())),
            )

        self.store.transaction(work, "pool the class's drawings", new=True)
        return self.class_summary()

    def clear_class(self) -> ClassSummary:
        def work(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM class_drawings")
            db.execute("DELETE FROM meta WHERE key = ?", (POOLED_AT_KEY,))

        self.store.transaction(work, "empty the class dataset", new=False)
        return self.class_summary()

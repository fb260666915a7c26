"""SQLite persistence for runs (config, status, metric history) and model metadata.

One `Store` per process. The connection is shared between the event loop, the request thread
pool and the run manager's flusher thread, so every statement runs under one lock; statements
are small (a run's history is appended in chunks, never rewritten) so the lock is held briefly.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from app.jsontypes import JSONObject
from app.nn.protocol import LIVE_STATUSES as LIVE
from app.store.disk import RESERVE_BYTES, Reserve, StorageFull, is_disk_full, storage_full

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created TEXT NOT NULL,
    info TEXT NOT NULL              -- JSON: sizes, activation, cost, parameters, accuracy, ...
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    config TEXT NOT NULL,           -- JSON: the resolved TrainConfig
    created TEXT NOT NULL,
    started TEXT,
    finished TEXT,
    reason TEXT,
    model_id TEXT,
    progress TEXT,                  -- JSON, the last known progress
    latest TEXT,                    -- JSON, the last metrics point's details
    evaluations TEXT NOT NULL DEFAULT '[]',
    predictions BLOB,               -- the last evaluation's test predictions (uint8 x 10000)
    confidence BLOB                 -- ... and their confidences (float32 x 10000)
);
-- A run's metric history, appended in chunks so a long run never rewrites what it has stored.
CREATE TABLE IF NOT EXISTS run_points (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    points TEXT NOT NULL,           -- JSON: {"step": [...], "epoch": [...], "cost": [...], ...}
    PRIMARY KEY (run_id, start)
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Class mode (issue 16): the learners, and the bearer tokens of API clients (hashed).
CREATE TABLE IF NOT EXISTS learners (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created TEXT NOT NULL
);
-- Who owns a stored model and whether others may use it. A model without a row here was
-- stored before class mode: the local teacher's, shared (as every model was then).
CREATE TABLE IF NOT EXISTS model_access (
    model_id TEXT PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
    owner TEXT NOT NULL,
    shared INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY,          -- sha256 of the token: the token itself is never stored
    learner_id TEXT NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
    created TEXT NOT NULL
);
-- Labelled drawings (issue 17): one row per drawing, its original image in
-- <data_dir>/drawings/<id>.png (app/store/drawings.py).
CREATE TABLE IF NOT EXISTS drawings (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,            -- the Principal id of who made it
    label INTEGER NOT NULL,
    source TEXT NOT NULL,           -- correction | example | import
    created REAL NOT NULL,          -- epoch seconds
    width INTEGER NOT NULL,         -- of the stored PNG
    height INTEGER NOT NULL,
    bytes INTEGER NOT NULL,         -- the PNG file's size
    input BLOB NOT NULL             -- the network's input: float32 x 784, 0..1
);
CREATE INDEX IF NOT EXISTS drawings_by_owner ON drawings (owner, created, id);
-- The class dataset (class mode): a snapshot of every drawing when the teacher pooled them.
CREATE TABLE IF NOT EXISTS class_drawings (
    pos INTEGER PRIMARY KEY,        -- the order of the snapshot (creation order)
    drawing_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    label INTEGER NOT NULL,
    input BLOB NOT NULL
);
"""
# Columns added after the first release: (table, column, declaration). A database from before
# gets them on open, and the runs it already held belong to the local teacher (TEACHER_ID).
# (The models table keeps its shape: a model's owner is in model_access.)
TEACHER_ID = "local"
MIGRATIONS = (("runs", "owner", f"TEXT NOT NULL DEFAULT '{TEACHER_ID}'"),)

# Statuses a run can only have while a thread is working on it; after a restart they are stale.
LIVE_STATUSES = tuple(sorted(LIVE))

METRIC_KEYS = ("step", "epoch", "cost", "accuracy")
JOURNAL_MODE = "PERSIST"
JOURNAL_SIZE_LIMIT = 512 * 1024  # the most room the journal keeps between transactions
# Run columns whose update may use the disk reserve (app/store/disk.py): what a run ended with.
ESSENTIAL_RUN_COLUMNS = frozenset({"status", "reason", "finished", "model_id"})


# What a run column may be set to: text, numbers, bytes, or JSON (a dict or list is stored as
# JSON text).
ColumnValue = str | int | float | bytes | None | Mapping[str, object] | Sequence[object]


MetricLists = dict[str, list[Any]]  # Any: JSON numbers per metric (int steps, float costs, null)


@dataclass
class StoredRun:
    id: str
    status: str
    config: JSONObject
    created: str
    started: str | None = None
    finished: str | None = None
    reason: str | None = None
    model_id: str | None = None
    progress: JSONObject | None = None
    latest: JSONObject | None = None
    evaluations: list[JSONObject] = field(default_factory=list)
    metrics: MetricLists = field(default_factory=lambda: {k: [] for k in METRIC_KEYS})
    predictions: bytes | None = None
    confidence: bytes | None = None
    owner: str = TEACHER_ID  # the Principal id of its creator (app/api/identity.py)


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _migrate(db: sqlite3.Connection) -> None:
    """Add the columns a database from an older version lacks (see MIGRATIONS)."""
    for table, column, declaration in MIGRATIONS:
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


@dataclass(frozen=True)
class ModelRowText:
    """A model row as stored, unchecked (the registry checks each field: app/store/metadata)."""

    id: object
    name: object
    created: object
    info: object
    owner: object
    shared: object


class Store:
    """Runs and model metadata in `<data_dir>/nn-playground.sqlite3`.

    On a full disk (app/store/disk.py): writes of new things (a model, a run) raise
    StorageFull; deletes and updates of what exists use the reserve when they must, so space
    can always be freed and a run's end is always recorded."""

    def __init__(self, path: Path, reserve_bytes: int = RESERVE_BYTES) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.reserve = Reserve(path.with_name(path.name + ".reserve"), reserve_bytes)
        self._lock = threading.Lock()
        self._stale_reason: tuple[str, str] | None = None  # mark_interrupted couldn't write
        try:
            self._db = self._open()
        except sqlite3.Error as exc:
            if not is_disk_full(exc):
                raise
            if not self.reserve.release():
                raise storage_full("open the database", exc) from exc
            self._db = self._open()  # a start on a full disk: with the reserve's space
        self.reserve.fill()

    def _open(self) -> sqlite3.Connection:
        # check_same_thread=False: access is serialised by self._lock instead.
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            # A rollback journal that keeps its size (PERSIST), not a WAL: with a WAL, what was
            # written since the last checkpoint lives in the WAL, and on a full disk the
            # database file can't grow to take it back; the WAL then only grows. A persistent
            # journal changes pages in place and reuses its own room, so deletes and status
            # updates still fit when the disk is full (the reserve covers a journal that must
            # grow).
            db.execute(f"PRAGMA journal_mode={JOURNAL_MODE}")
            db.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(SCHEMA)
            _migrate(db)
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def ensure_room(self, what: str) -> None:
        """StorageFull unless the reserve is in place (filled again first if it was used):
        something new is stored only when the bookkeeping still has room after it. Under the
        lock: a write that releases the reserve on a full disk never overlaps this fill."""
        with self._lock:
            filled = self.reserve.fill()
        if not filled:
            raise storage_full(what)

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        self._db.execute("BEGIN")
        try:
            result = work(self._db)
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            raise
        return result

    def _write(
        self, work: Callable[[sqlite3.Connection], T], what: str, *, essential: bool = True
    ) -> T:
        """Run `work` in a transaction. On a full disk, an `essential` write (a delete, an
        update of what exists) releases the reserve and tries once more; StorageFull if it
        still can't be written, or at once when it is not essential."""
        with self._lock:
            try:
                return self._transaction(work)
            except sqlite3.Error as exc:
                if not is_disk_full(exc):
                    raise
                if not (essential and self.reserve.release()):
                    raise storage_full(what, exc) from exc
            try:
                return self._transaction(work)
            except sqlite3.Error as exc:
                if is_disk_full(exc):
                    raise storage_full(what, exc) from exc
                raise
            finally:
                self.reserve.fill()  # what the write did not need goes back into the reserve

    # -- other tables (app/store/learners.py) ---------------------------------------------

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return [tuple(row) for row in self._db.execute(sql, params).fetchall()]

    def execute(self, sql: str, params: Sequence[object], what: str, *, new: bool) -> int:
        """One statement in a transaction; the rows it changed. `new`: it stores something
        new (StorageFull at once on a full disk); else it may use the reserve."""
        if new:
            self.ensure_room(what)
        return self._write(lambda db: db.execute(sql, params).rowcount, what, essential=not new)

    def transaction(self, work: Callable[[sqlite3.Connection], T], what: str, *, new: bool) -> T:
        """`work` in one transaction (a batch of statements: all or none). `new`: it stores
        something new (StorageFull at once on a full disk); else it may use the reserve."""
        if new:
            self.ensure_room(what)
        return self._write(work, what, essential=not new)

    # -- meta -----------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._write(
            lambda db: db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            ),
            "save the setting",
        )

    # -- models ---------------------------------------------------------------------------

    def add_model(
        self,
        model_id: str,
        name: str,
        created: str,
        info: JSONObject,
        *,
        owner: str = TEACHER_ID,
        shared: bool = False,
    ) -> None:
        self.ensure_room("store the model")

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO models (id, name, created, info) VALUES (?, ?, ?, ?)",
                (model_id, name, created, _dumps(info)),
            )
            db.execute(
                "INSERT INTO model_access (model_id, owner, shared) VALUES (?, ?, ?)",
                (model_id, owner, int(shared)),
            )

        self._write(work, "store the model", essential=False)

    def model_ids(self) -> set[str]:
        """The id of every model row (start-up adopts the model files that have none)."""
        with self._lock:
            rows = self._db.execute("SELECT id FROM models").fetchall()
        return {r[0] for r in rows if isinstance(r[0], str)}

    def delete_model(self, model_id: str) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            db.execute("DELETE FROM model_access WHERE model_id = ?", (model_id,))
            return db.execute("DELETE FROM models WHERE id = ?", (model_id,)).rowcount > 0

        return self._write(work, "delete the model")

    def update_model(self, model_id: str, *, name: str | None, shared: bool | None) -> bool:
        """Rename a model and/or change whether it is shared; False when there is no such row."""

        def work(db: sqlite3.Connection) -> bool:
            if not db.execute("SELECT 1 FROM models WHERE id = ?", (model_id,)).fetchone():
                return False
            if name is not None:
                db.execute("UPDATE models SET name = ? WHERE id = ?", (name, model_id))
            if shared is not None:  # a model from before class mode: the teacher's
                db.execute(
                    "INSERT INTO model_access (model_id, owner, shared) VALUES (?, ?, ?) "
                    "ON CONFLICT(model_id) DO UPDATE SET shared = excluded.shared",
                    (model_id, TEACHER_ID, int(shared)),
                )
            return True

        return self._write(work, "change the model")

    def list_models(self) -> list[ModelRowText]:
        """Every model row as stored: the registry checks each one, so a row that can't be
        read never hides the others."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, name, created, info, COALESCE(a.owner, ?), COALESCE(a.shared, 1) "
                "FROM models LEFT JOIN model_access AS a ON a.model_id = models.id "
                "ORDER BY created, id",
                (TEACHER_ID,),
            ).fetchall()
        return [ModelRowText(*row) for row in rows]

    # -- runs -----------------------------------------------------------------------------

    def add_run(self, run: StoredRun) -> None:
        self.ensure_room("store the run")
        self._write(
            lambda db: db.execute(
                "INSERT INTO runs (id, status, config, created, owner) VALUES (?, ?, ?, ?, ?)",
                (run.id, run.status, _dumps(run.config), run.created, run.owner),
            ),
            "store the run",
            essential=False,
        )

    def update_run(self, run_id: str, **fields: ColumnValue) -> None:
        """Update columns of a run; dict/list values are stored as JSON."""
        if not fields:
            return
        allowed = {
            "status", "started", "finished", "reason", "model_id", "progress", "latest",
            "evaluations", "predictions", "confidence", "config",
        }  # fmt: skip
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown run columns: {sorted(unknown)}")
        values = [_dumps(v) if isinstance(v, dict | list) else v for v in fields.values()]
        columns = ", ".join(f"{name} = ?" for name in fields)
        # A status or a saved model may use the reserve; progress and metrics may not.
        essential = bool(ESSENTIAL_RUN_COLUMNS & set(fields))
        self._write(
            lambda db: db.execute(f"UPDATE runs SET {columns} WHERE id = ?", (*values, run_id)),
            "record the run's state",
            essential=essential,
        )

    def append_points(self, run_id: str, start: int, points: Mapping[str, object]) -> None:
        self._write(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO run_points (run_id, start, points) VALUES (?, ?, ?)",
                (run_id, start, _dumps(points)),
            ),
            "record the run's metrics",
            essential=False,
        )

    def delete_run(self, run_id: str) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            db.execute("DELETE FROM run_points WHERE run_id = ?", (run_id,))
            return db.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount > 0

        return self._write(work, "delete the run")

    def mark_interrupted(self, reason: str, finished: str) -> int:
        """Runs left live by a process that died are `interrupted`, never `running`. On a
        disk too full even for that, they are interrupted in what load_runs answers."""
        marks = ",".join("?" for _ in LIVE_STATUSES)
        try:
            return self._write(
                lambda db: (
                    db.execute(
                        f"UPDATE runs SET status = 'interrupted', reason = ?, finished = ? "
                        f"WHERE status IN ({marks})",
                        (reason, finished, *LIVE_STATUSES),
                    ).rowcount
                ),
                "mark the interrupted runs",
            )
        except StorageFull as exc:
            log.warning("%s; they are shown interrupted all the same", exc)
            self._stale_reason = (reason, finished)
            return 0

    def load_runs(self) -> list[StoredRun]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, status, config, created, started, finished, reason, model_id, "
                "progress, latest, evaluations, predictions, confidence, owner "
                "FROM runs ORDER BY created, id"
            ).fetchall()
            chunks = self._db.execute(
                "SELECT run_id, start, points FROM run_points ORDER BY run_id, start"
            ).fetchall()
        runs: dict[str, StoredRun] = {}
        for r in rows:
            if self._stale_reason is not None and r[1] in LIVE_STATUSES:
                r = (r[0], "interrupted", r[2], r[3], r[4], self._stale_reason[1],
                     self._stale_reason[0], *r[7:])  # fmt: skip
            runs[r[0]] = StoredRun(
                id=r[0],
                status=r[1],
                config=json.loads(r[2]),
                created=r[3],
                started=r[4],
                finished=r[5],
                reason=r[6],
                model_id=r[7],
                progress=json.loads(r[8]) if r[8] else None,
                latest=json.loads(r[9]) if r[9] else None,
                evaluations=json.loads(r[10]) if r[10] else [],
                predictions=r[11],
                confidence=r[12],
                owner=r[13],
            )
        for run_id, start, text in chunks:
            run = runs.get(run_id)
            if run is None:
                continue
            points = json.loads(text)
            have = len(run.metrics["step"])
            # A chunk re-written after a crash may overlap what is already there: skip the overlap.
            skip = max(0, have - start)
            for key in METRIC_KEYS:
                run.metrics[key].extend(points.get(key, [])[skip:])
        return list(runs.values())

"""A run's snapshot of labelled drawings on disk (issue 17 §2): `<runs_dir>/<run id>.drawings.npz`,
written atomically when the run is created, read again when it resumes (after a restart too),
so the run trains and evaluates on the same drawings, split the same way, whatever happens to
the drawings store meanwhile. Our own arrays (float32, int64, str): never loaded with pickle."""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path

import numpy as np

from app.data.drawing_mix import DrawingCounts, DrawingSplit
from app.store.files import path_for, write_atomic

log = logging.getLogger(__name__)

SUFFIX = ".drawings.npz"
_ARRAYS = ("train_x", "train_y", "train_ids", "held_x", "held_y", "held_ids")


class DrawingSnapshots:
    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir

    def path(self, run_id: str) -> Path:
        return path_for(self.runs_dir, run_id, SUFFIX)

    def write(self, run_id: str, split: DrawingSplit) -> None:
        buffer = io.BytesIO()
        np.savez(
            buffer,
            train_x=split.train_x,
            train_y=split.train_y,
            train_ids=np.array(split.train_ids, dtype=str),
            held_x=split.held_x,
            held_y=split.held_y,
            held_ids=np.array(split.held_ids, dtype=str),
        )
        write_atomic(self.path(run_id), buffer.getvalue())

    def load(self, run_id: str) -> DrawingSplit | None:
        """The run's snapshot; None when it has none or the file is unreadable (logged)."""
        path = self.path(run_id)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as arrays:
                a = {name: arrays[name] for name in _ARRAYS}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            log.warning("run %s: unreadable drawings snapshot: %s", run_id, exc)
            return None
        return DrawingSplit(
            train_x=a["train_x"].astype(np.float32, copy=False),
            train_y=a["train_y"].astype(np.int64, copy=False),
            train_ids=tuple(str(i) for i in a["train_ids"]),
            held_x=a["held_x"].astype(np.float32, copy=False),
            held_y=a["held_y"].astype(np.int64, copy=False),
            held_ids=tuple(str(i) for i in a["held_ids"]),
        )

    def counts(self, run_id: str) -> DrawingCounts | None:
        """How many of the run's drawings train and are held out (None: no snapshot), reading
        only the labels (at start-up, for every run on drawings)."""
        path = self.path(run_id)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as arrays:
                return {"train": len(arrays["train_y"]), "held_out": len(arrays["held_y"])}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            log.warning("run %s: unreadable drawings snapshot: %s", run_id, exc)
            return None

    def delete(self, run_id: str) -> None:
        self.path(run_id).unlink(missing_ok=True)

    def remove_orphans(self, run_ids: set[str]) -> None:
        """Remove the snapshots of runs that don't exist (at start-up): a kill -9 between
        writing a run's snapshot and storing its row leaves one no run points at."""
        for path in self.runs_dir.glob(f"*{SUFFIX}"):
            if path.name.removesuffix(SUFFIX) not in run_ids:
                log.warning("removing %s: a drawings snapshot of no stored run", path.name)
                path.unlink(missing_ok=True)

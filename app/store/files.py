"""Atomic weight files and the id rule that keeps paths inside the data directory."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from app import fileio

# Ids become file names, so they are restricted to a safe alphabet: no "/", no "..", no NUL.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_ID_RE = re.compile(ID_PATTERN)
log = logging.getLogger(__name__)


def is_valid_id(value: str) -> bool:
    return bool(_ID_RE.fullmatch(value))


def path_for(directory: Path, item_id: str, suffix: str = ".npz") -> Path:
    """`directory/<id><suffix>`; refuses an id that is not in the safe alphabet."""
    if not is_valid_id(item_id):
        raise ValueError(f"invalid id: {item_id!r}")
    path = (directory / f"{item_id}{suffix}").resolve()
    if path.parent != directory.resolve():  # belt and braces: the regex already forbids this
        raise ValueError(f"invalid id: {item_id!r}")
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Create the parent directory if needed, then write atomically (see app.fileio)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fileio.write_atomic(path, data)


def remove_leftover_temps(directory: Path, suffix: str = ".npz") -> int:
    """Delete the temporary files interrupted atomic writes of `<id><suffix>` files left in
    `directory` (`.<name>.<random>.tmp`, app/fileio.py; a kill -9 mid-write leaves one) and
    log each; how many. Only at start-up: a live write's temporary file must not go."""
    removed = 0
    for tmp in directory.glob(f".*{suffix}.*.tmp") if directory.is_dir() else []:
        log.warning("removing leftover temporary file %s", tmp)
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


ORPHANS_FOLDER = "orphans"  # where start-up moves model files it can neither serve nor adopt


def orphan_files(directory: Path, keep: set[str], suffix: str = ".npz") -> list[Path]:
    """Every `<id><suffix>` file in `directory` whose id is not in `keep` (a save killed
    between its file's rename and its database row leaves one; a lost database, all)."""
    found = []
    for path in sorted(directory.glob(f"*{suffix}")):
        item_id = path.name[: -len(suffix)]
        if is_valid_id(item_id) and item_id not in keep and path.is_file():
            found.append(path)
    return found


def sweep_orphans(directory: Path, keep: set[str], suffix: str = ".npz") -> tuple[int, int]:
    """Move every orphan file (see `orphan_files`) into `directory/orphans/`, never deleting
    one (it may be the only copy of a model); (files, bytes) moved."""
    files = moved = 0
    for path in orphan_files(directory, keep, suffix):
        aside = directory / ORPHANS_FOLDER
        aside.mkdir(exist_ok=True)
        target, n = aside / path.name, 1
        while target.exists():
            target, n = aside / f"{path.name[: -len(suffix)]}.{n}{suffix}", n + 1
        try:
            size = path.stat().st_size
            path.rename(target)
        except FileNotFoundError:
            continue
        files, moved = files + 1, moved + size
    return files, moved


def bytes_in(directory: Path, leave_out: set[Path]) -> int:
    """The bytes of every file in `directory` (temporary ones too), but those in `leave_out`."""
    total = 0
    for path in directory.iterdir() if directory.is_dir() else []:
        if path in leave_out:
            continue
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:
            continue
    return total

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


def sweep_orphans(directory: Path, keep: set[str], suffix: str = ".npz") -> tuple[int, int]:
    """Remove every `<id><suffix>` file in `directory` whose id is not in `keep` (a save killed
    between its file's rename and its database row leaves one); (files, bytes) removed."""
    files = removed = 0
    for path in sorted(directory.glob(f"*{suffix}")):
        item_id = path.name[: -len(suffix)]
        if not is_valid_id(item_id) or item_id in keep or not path.is_file():
            continue
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue
        files, removed = files + 1, removed + size
    return files, removed


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

"""Atomic weight files and the id rule that keeps paths inside the data directory."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

# Ids become file names, so they are restricted to a safe alphabet: no "/", no "..", no NUL.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_ID_RE = re.compile(ID_PATTERN)


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
    """Write via a temp file in the same directory, fsync, rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # Make the rename itself durable (a crash right after must not lose the new name).
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)

"""Atomic weight files and the id rule that keeps paths inside the data directory."""

from __future__ import annotations

import re
from pathlib import Path

from app import fileio

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
    """Create the parent directory if needed, then write atomically (see app.fileio)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fileio.write_atomic(path, data)

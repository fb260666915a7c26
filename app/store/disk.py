"""A full disk: recognising it, and a small reserve that keeps the bookkeeping possible.

Every write the disk can't take raises `StorageFull` (an OSError with ENOSPC), which the web
layer answers 507. SQLite needs free space even to delete (its journal records the pages a
change overwrites), so the data directory keeps a `Reserve`: a file of a few hundred KB that
is given back to the file system when a delete, a run's status or a start-up can't be
written otherwise, and filled again before anything new (an upload, a run) is stored.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
SQLITE_FULL = 13  # the primary result code of "database or disk is full"
RESERVE_BYTES = 256 * 1024


class StorageFull(OSError):
    """A write the disk can't take (no space left, or over the disk quota)."""

    def __init__(self, message: str) -> None:
        super().__init__(errno.ENOSPC, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC/EDQUOT, or SQLite's SQLITE_FULL ("database or disk is full")."""
    if isinstance(exc, OSError):
        return exc.errno in DISK_FULL_ERRNOS
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF == SQLITE_FULL:
            return True
        return "database or disk is full" in str(exc)
    return False


def storage_full(what: str, exc: BaseException | None = None) -> StorageFull:
    """StorageFull for `what` (e.g. "store the model"), naming the underlying error."""
    cause = f" ({exc.strerror or exc})" if isinstance(exc, OSError) else f" ({exc})" if exc else ""
    return StorageFull(
        f"the disk is full: could not {what}{cause}; free space on the server, or delete "
        "models or runs, then try again"
    )


class Reserve:
    """A file of `size` bytes that holds space back for deletes and status updates."""

    def __init__(self, path: Path, size: int = RESERVE_BYTES) -> None:
        self.path = path
        self.size = size

    @property
    def present(self) -> bool:
        try:
            return self.path.stat().st_size >= self.size
        except OSError:
            return False

    def fill(self) -> bool:
        """Top the reserve up to its size with what the disk has; True when it is full. What
        could be written stays: after a write that needed part of the reserve, the rest goes
        back into it rather than to whoever writes next."""
        try:
            have = self.path.stat().st_size
        except FileNotFoundError:
            have = 0
        if have >= self.size:
            return True
        chunk = b"\0" * 4096  # real bytes: a sparse file would hold nothing back
        try:
            with open(self.path, "ab") as f:
                try:
                    while have < self.size:
                        have += f.write(chunk[: self.size - have])
                        f.flush()
                finally:
                    os.fsync(f.fileno())
        except OSError as exc:
            if not is_disk_full(exc):
                log.warning("could not write the disk reserve %s: %s", self.path, exc)
            return False
        return True

    def release(self) -> bool:
        """Give the reserve's space back to the file system; False when there was none."""
        if not self.path.exists():
            return False
        log.warning("the disk is full: releasing the reserve %s to finish a write", self.path)
        self.path.unlink(missing_ok=True)
        return True

"""Many small files written at once (a drawings import): each written without its own fsync,
then the file system synced once, so 10,000 PNGs cost one flush rather than 10,000 (an fsync
per file is a journal commit each: tens of seconds on a disk). Nothing points at the files
until the caller's database transaction commits, after the sync."""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from app.store.disk import is_disk_full, storage_full

log = logging.getLogger(__name__)


def _libc_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        syncfs: Callable[[int], int] = libc.syncfs
    except (OSError, AttributeError):
        return None
    return syncfs


_syncfs = _libc_syncfs()


def sync_directory(directory: Path) -> None:
    """Flush to disk every file written in `directory`'s file system and the directory's own
    entries (syncfs on Linux, else a full sync). OSError (ENOSPC included) when it fails."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        if _syncfs is not None:
            if _syncfs(fd) != 0:
                code = ctypes.get_errno()
                raise OSError(code, os.strerror(code), str(directory))
        else:
            os.sync()
        try:
            os.fsync(fd)
        except OSError as exc:  # some file systems can't fsync a directory; syncfs did it
            if exc.errno not in (errno.EINVAL, errno.EBADF):
                raise
    finally:
        os.close(fd)


def remove_files(paths: Iterable[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove %s: %s", path, exc)


def write_new(files: list[tuple[Path, bytes]], what: str) -> None:
    """Write new files (names no one else uses), then sync them all at once. On any failure
    every one of them is removed again; StorageFull when the disk is full."""
    written: list[Path] = []
    try:
        for path, data in files:
            written.append(path)
            with open(path, "xb") as f:
                f.write(data)
        if files:
            sync_directory(files[0][0].parent)
    except OSError as exc:
        remove_files(written)
        if is_disk_full(exc):
            raise storage_full(what, exc) from exc
        raise
    except BaseException:
        remove_files(written)
        raise

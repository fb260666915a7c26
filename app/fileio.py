"""Durable file writes shared by the model serializer and the store, and opening zip archives
from outside."""

from __future__ import annotations

import io
import os
import struct
import tempfile
import zipfile
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so readers see the old file or the new one, never half of it.

    The bytes go to a temporary file in the same directory (so the rename cannot cross file
    systems), are fsynced, then renamed over `path`; the directory is fsynced too, so a crash
    right after cannot lose the new name.
    """
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
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # some platforms can't open a directory; the rename is still atomic
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


# The ways zipfile fails on a crafted or broken archive while it reads the central directory
# (the review's fuzzing found NotImplementedError for an unknown "version needed to extract").
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,
    OSError,
    EOFError,
    ValueError,
    struct.error,
)


def open_zip(data: bytes) -> zipfile.ZipFile:
    """The archive in `data` (its central directory parsed); ValueError saying why it isn't
    one. Callers check the directory's size first: zipfile parses all of it here."""
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None

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


EOCD = b"PK\x05\x06"  # the end of central directory record's signature
ZIP64_LOCATOR, ZIP64_EOCD = b"PK\x06\x07", b"PK\x06\x06"
MAX_ENTRY_BYTES = 600  # a central directory entry: 46 bytes and its name (and extras)


def zip_directory(data: bytes) -> tuple[int, int] | None:
    """(entries, bytes) the zip's central directory declares (zip64's when it has one), from
    its end record alone; None when there is none (zipfile then says what is wrong). Check
    them before open_zip: zipfile parses the whole directory at once, and a few MB of it
    declare hundreds of thousands of files (seconds of parsing)."""
    tail_start = max(0, len(data) - 22 - 65535)
    at = data.rfind(EOCD, tail_start)
    if at < 0 or at + 22 > len(data):
        return None
    entries, size = struct.unpack("<HI", data[at + 10 : at + 16])
    locator = data.rfind(ZIP64_LOCATOR, max(0, at - 20), at)
    if locator >= 0:
        (offset,) = struct.unpack("<Q", data[locator + 8 : locator + 16])
        record = data[offset : offset + 56]
        if len(record) == 56 and record[:4] == ZIP64_EOCD:
            entries, size = struct.unpack("<QQ", record[32:48])
    return int(entries), int(size)


def open_zip(data: bytes) -> zipfile.ZipFile:
    """The archive in `data` (its central directory parsed); ValueError saying why it isn't
    one. Callers check the directory's size first: zipfile parses all of it here."""
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None

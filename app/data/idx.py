"""Read and write IDX files, the format the MNIST database is published in.

An IDX file is a 4-byte magic number ``00 00 <dtype code> <ndim>``, then ``ndim`` big-endian
uint32 dimension sizes, then the array's elements in C order, big-endian.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = ["IDX_DTYPES", "MAX_IDX_BYTES", "IDXError", "idx_payload", "read_idx", "write_idx"]

# The type codes the IDX format defines, with their big-endian NumPy equivalents.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}

# The largest decompressed payload read_idx accepts: far above MNIST's 47 MB training images,
# far below what a gzip bomb could make us allocate.
MAX_IDX_BYTES = 512 * 1024 * 1024

_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """The bytes are not a well-formed IDX file (or not the gzip stream they claim to be)."""


def _gunzip(data: bytes, name: str) -> bytes:
    """Decompress a whole gzip stream, refusing output larger than MAX_IDX_BYTES."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            out = stream.read(MAX_IDX_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise IDXError(f"{name}: corrupt or truncated gzip data ({exc})") from None
    if len(out) > MAX_IDX_BYTES:
        raise IDXError(f"{name}: decompresses to more than {MAX_IDX_BYTES} bytes")
    return out


def _read_source(source: bytes | str | Path) -> tuple[str, bytes]:
    """Return (a name for messages, the decompressed bytes) of an IDX source."""
    if isinstance(source, bytes | bytearray | memoryview):
        name, data = "IDX data", bytes(source)
        must_be_gzip = False
    else:
        path = Path(source)
        name = str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise IDXError(f"{name}: cannot read ({exc.strerror or exc})") from None
        must_be_gzip = path.suffix == ".gz"
    if data[:2] == _GZIP_MAGIC:
        return name, _gunzip(data, name)
    if must_be_gzip:
        raise IDXError(f"{name}: named .gz but is not gzip data")
    return name, data


def idx_payload(source: bytes | str | Path) -> bytes:
    """The decompressed bytes of an IDX source (bytes or a path; raw or gzip), unparsed.

    This is what MNIST's published SHA-256 checksums are computed over.
    """
    return _read_source(source)[1]


def read_idx(source: bytes | str | Path, *, copy: bool = True) -> np.ndarray:
    """Parse an IDX file (raw or gzip-compressed) into an array.

    ``source`` is the file's bytes or a path; gzip is recognised by its magic bytes, and a path
    ending in ``.gz`` must hold gzip data. Returns an array of the file's shape in native byte
    order (e.g. ``(60000, 28, 28)`` uint8 for MNIST training images). Raises IDXError naming
    what is wrong: bad magic, unknown type code, a size that does not match the payload, etc.

    With ``copy=False``, a single-byte type (MNIST's uint8) comes back as a read-only view of
    the bytes instead of a writable copy: no second 47 MB for the training images, and none of
    the ~0.1 s that touching that much fresh memory costs a new worker process.
    """
    name, data = _read_source(source)
    if len(data) < 4:
        raise IDXError(f"{name}: too short for an IDX header ({len(data)} bytes)")
    zero1, zero2, code, ndim = data[:4]
    if zero1 != 0 or zero2 != 0:
        raise IDXError(f"{name}: bad magic number {data[:4].hex()} (must start with 0000)")
    if code not in IDX_DTYPES:
        raise IDXError(f"{name}: unknown IDX type code 0x{code:02x}")
    if ndim == 0:
        raise IDXError(f"{name}: IDX header declares zero dimensions")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise IDXError(f"{name}: truncated header ({len(data)} of {header_len} bytes)")
    shape = struct.unpack(f">{ndim}I", data[4:header_len])
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header_len
    if actual != expected:
        what = "truncated" if actual < expected else "has trailing bytes"
        raise IDXError(
            f"{name}: {what}: shape {shape} needs {expected} bytes of data, found {actual}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    if not copy and dtype.itemsize == 1:
        return array  # read-only (the bytes are immutable); no byte order to fix
    # Native byte order, and a writable copy that does not pin the file's bytes.
    return array.astype(dtype.newbyteorder("="))


def write_idx(array: np.ndarray, path: Path | None = None) -> bytes:
    """Encode ``array`` as IDX and return the (uncompressed) encoding.

    With ``path``, also write it there, gzip-compressed when the name ends in ``.gz``. The
    array must have 1..255 dimensions and a dtype IDX supports (uint8, int8, int16, int32,
    float32, float64); anything else raises IDXError.
    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        raise IDXError(f"IDX cannot store dtype {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise IDXError(f"IDX needs 1..255 dimensions, got {array.ndim}")
    if any(size >= 2**32 for size in array.shape):
        raise IDXError(f"IDX dimension sizes must fit in 32 bits, got {array.shape}")
    code = _CODES[native]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    encoded = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if path is not None:
        path = Path(path)
        payload = gzip.compress(encoded, mtime=0) if path.suffix == ".gz" else encoded
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(payload)
        os.replace(tmp, path)
    return encoded

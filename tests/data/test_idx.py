"""IDX reading and writing: round trips, the published layout, and every way a file is bad."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from app.data.idx import IDXError, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (0, 28, 28)])
def test_round_trip_through_bytes(dtype: type, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    array = (rng.standard_normal(shape) * 100).astype(dtype)
    back = read_idx(write_idx(array))
    assert back.dtype == np.dtype(dtype)
    assert back.shape == shape
    np.testing.assert_array_equal(back, array)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_through_files(tmp_path: Path, suffix: str) -> None:
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    path = tmp_path / f"images-idx3-ubyte{suffix}"
    write_idx(array, path)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    np.testing.assert_array_equal(read_idx(path), array)
    np.testing.assert_array_equal(read_idx(str(path)), array)


def test_layout_matches_the_mnist_label_file_format() -> None:
    # From the format's description: magic 0x00000801 (unsigned byte, 1 dimension), the
    # count as a big-endian 32-bit integer, then one byte per label.
    assert write_idx(np.array([7, 2, 1], dtype=np.uint8)) == bytes.fromhex("0000080100000003070201")
    # Multi-byte values are big-endian: int16 258 is 01 02.
    assert write_idx(np.array([258], dtype=np.int16)) == bytes.fromhex("00000b01000000010102")


def test_gzip_bytes_are_recognised_without_a_file_name() -> None:
    array = np.array([[1, 2], [3, 4]], dtype=np.int32)
    np.testing.assert_array_equal(read_idx(gzip.compress(write_idx(array))), array)


def test_reads_real_mnist_labels(mnist_dir: Path) -> None:
    path = next(p for p in mnist_dir.iterdir() if p.name.startswith("t10k-labels"))
    labels = read_idx(path)
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    # The first test labels, as published: 7 2 1 0 4 1 4 9 5 9.
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


GOOD = bytes.fromhex("000008020000000200000003") + bytes(range(6))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "too short"),
        (b"\x00\x00", "too short"),
        (b"\x01" + GOOD[1:], "bad magic"),
        (GOOD[:1] + b"\x05" + GOOD[2:], "bad magic"),
        (GOOD[:2] + b"\x0a" + GOOD[3:], "unknown IDX type code 0x0a"),
        (b"\x00\x00\x08\x00", "zero dimensions"),
        (GOOD[:10], "truncated header"),
        (GOOD[:-1], "truncated"),
        (GOOD[:12], "truncated"),
        (GOOD + b"\x00", "trailing bytes"),
    ],
)
def test_malformed_idx_is_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(IDXError, match=message):
        read_idx(data)


def test_the_good_sample_is_actually_good() -> None:
    # Guards the table above: each bad case differs from a file that parses.
    assert read_idx(GOOD).tolist() == [[0, 1, 2], [3, 4, 5]]


def test_dimension_product_is_checked_against_the_payload() -> None:
    header = bytes.fromhex("00000803") + (60000).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    with pytest.raises(IDXError, match=r"\(60000, 28, 28\) needs 47040000 bytes"):
        read_idx(header + bytes(784))


def test_gz_name_without_gzip_data(tmp_path: Path) -> None:
    path = tmp_path / "labels.gz"
    path.write_bytes(GOOD)
    with pytest.raises(IDXError, match=r"named \.gz but is not gzip"):
        read_idx(path)


def test_corrupt_and_truncated_gzip(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(write_idx(np.arange(5000, dtype=np.int32))))
    with pytest.raises(IDXError, match="corrupt or truncated gzip"):
        read_idx(bytes(packed[: len(packed) // 2]))
    packed[len(packed) // 2] ^= 0xFF
    with pytest.raises(IDXError, match="corrupt or truncated gzip"):
        read_idx(bytes(packed))


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(IDXError, match="nope-idx1-ubyte: cannot read"):
        read_idx(tmp_path / "nope-idx1-ubyte")


@pytest.mark.parametrize(
    "array", [np.zeros(3, dtype=bool), np.zeros(3, dtype=np.int64), np.array(5)]
)
def test_writer_refuses_what_idx_cannot_store(array: np.ndarray) -> None:
    with pytest.raises(IDXError):
        write_idx(array)


def test_without_a_copy_bytes_come_back_as_a_read_only_view() -> None:
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    data = write_idx(array)
    view = read_idx(data, copy=False)
    np.testing.assert_array_equal(view, array)
    assert not view.flags.writeable and np.shares_memory(view, np.frombuffer(data, np.uint8))
    copied = read_idx(data)
    assert copied.flags.writeable and not np.shares_memory(copied, np.frombuffer(data, np.uint8))
    # Wider types still get a native-order copy: the file is big-endian.
    wide = read_idx(write_idx(np.arange(6, dtype=np.int32)), copy=False)
    assert wide.dtype.isnative and wide.tolist() == list(range(6))

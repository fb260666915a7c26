"""app/data/drawing_sets.py (issue 17): a drawing's image and input, the export zip in MNIST's
format, and the import's validation (every bad row reported, zip safety)."""

from __future__ import annotations

import csv
import io
import struct
import zipfile

import numpy as np
import pytest
from PIL import Image

from app.data.decode import InputError
from app.data.drawing_sets import (
    ExportItem,
    ImageTooLarge,
    ImportLimits,
    ImportRefused,
    RowError,
    export_zip,
    prepare,
    read_import,
)
from app.data.preprocess import image_to_input

from .drawing_zips import blank_png, encoded, labelled_zip, stroke_png, zip_of

LIMITS = ImportLimits(
    max_zip_bytes=20_000_000,
    max_files=50,
    max_image_bytes=1_000_000,
    max_total_bytes=5_000_000,
    max_rows=20,
)


def appended(data: bytes, files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buf.getvalue()


def refused(data: bytes, limits: ImportLimits = LIMITS) -> ImportRefused:
    with pytest.raises(ImportRefused) as caught:
        read_import(data, limits)
    return caught.value


# -- one drawing ---------------------------------------------------------------------------


def test_a_png_is_kept_byte_for_byte_with_predicts_input() -> None:
    png = stroke_png(3)
    drawing = prepare(png, None, 1_000_000)
    assert drawing.png == png
    assert (drawing.width, drawing.height) == (280, 280)
    assert drawing.input.dtype == np.float32 and drawing.input.shape == (784,)
    np.testing.assert_array_equal(drawing.input, image_to_input(png))


def test_jpeg_and_webp_are_kept_as_png_of_the_same_size() -> None:
    for fmt in ("JPEG", "WEBP"):
        drawing = prepare(encoded(stroke_png(), fmt), None, 1_000_000)
        assert drawing.png.startswith(b"\x89PNG\r\n\x1a\n")
        assert Image.open(io.BytesIO(drawing.png)).size == (280, 280)


def test_a_pixels_drawing_is_kept_as_a_28x28_png_of_its_input() -> None:
    pixels = np.zeros(784)
    pixels[300:420] = 1.0
    pixels[420:430] = 0.5
    drawing = prepare(None, pixels.tolist(), 1_000_000)
    np.testing.assert_array_equal(drawing.input, pixels.astype(np.float32))
    image = np.asarray(Image.open(io.BytesIO(drawing.png)))
    assert image.shape == (28, 28) and image.dtype == np.uint8
    np.testing.assert_array_equal(image.reshape(784), np.rint(pixels * 255).astype(np.uint8))


def test_too_big_blank_and_undecodable_drawings_are_refused() -> None:
    with pytest.raises(ImageTooLarge, match="limit of 100 "):
        prepare(stroke_png(), None, 100)
    with pytest.raises(InputError, match="empty"):
        prepare(blank_png(), None, 1_000_000)
    with pytest.raises(InputError):
        prepare(b"GIF89a not really", None, 1_000_000)


# -- export --------------------------------------------------------------------------------


def _items() -> list[ExportItem]:
    items = []
    for k, label in enumerate([4, 1, 9]):
        png = stroke_png(label)
        items.append(ExportItem(f"d_{k}", label, image_to_input(png), png))
    return items


def test_the_export_is_mnists_format() -> None:
    items = _items()
    with zipfile.ZipFile(io.BytesIO(export_zip(items))) as archive:
        names = set(archive.namelist())
        images = archive.read("drawings-images-idx3-ubyte")
        labels = archive.read("drawings-labels-idx1-ubyte")
        rows = list(csv.reader(io.StringIO(archive.read("labels.csv").decode())))
        pngs = {name: archive.read(name) for name in names if name.startswith("images/")}
    assert names == {"drawings-images-idx3-ubyte", "drawings-labels-idx1-ubyte", "labels.csv",
                     "images/d_0.png", "images/d_1.png", "images/d_2.png"}  # fmt: skip
    # IDX as MNIST's: magic 0x00000803 / 0x00000801, big-endian sizes, uint8 payload.
    assert struct.unpack(">IIII", images[:16]) == (0x803, 3, 28, 28)
    assert struct.unpack(">II", labels[:8]) == (0x801, 3)
    assert list(labels[8:]) == [4, 1, 9]
    pixels = np.frombuffer(images[16:], np.uint8).reshape(3, 784)
    for k, item in enumerate(items):  # white ink on black, 8-bit
        np.testing.assert_array_equal(pixels[k], np.rint(item.input * 255).astype(np.uint8))
        assert pngs[f"images/d_{k}.png"] == item.png
    assert pixels.max() == 255 and np.median(pixels) == 0
    assert rows == [["file", "label"], ["images/d_0.png", "4"], ["images/d_1.png", "1"],
                    ["images/d_2.png", "9"]]  # fmt: skip


def test_an_export_imports_back_to_the_same_set() -> None:
    items = _items()
    pixels = np.zeros(784, np.float32)
    pixels[200:300] = 0.25  # a pixels drawing: its PNG alone would be re-centred
    items.append(ExportItem("d_p", 0, pixels, prepare(None, pixels, 10**6).png))
    imported = read_import(export_zip(items), LIMITS)
    assert [label for label, _ in imported] == [4, 1, 9, 0]
    for item, (_, drawing) in zip(items, imported, strict=True):
        assert drawing.png == item.png
        np.testing.assert_array_equal(
            np.rint(drawing.input * 255), np.rint(item.input * 255)
        )  # the same 8-bit inputs
    again = read_import(export_zip([ExportItem(f"x{k}", label, d.input, d.png)
                                    for k, (label, d) in enumerate(imported)]), LIMITS)  # fmt: skip
    for (_, a), (_, b) in zip(imported, again, strict=True):
        np.testing.assert_array_equal(a.input, b.input)  # and stable from then on


# -- import --------------------------------------------------------------------------------


def test_a_good_import_in_a_folder_with_mac_metadata() -> None:
    data = appended(
        labelled_zip([3, 1, 4, 1, 5], folder="mine/"),
        {"__MACOSX/mine/._img0.png": b"junk", "mine/sub/": b"", "mine/.DS_Store": b"x"},
    )
    imported = read_import(data, LIMITS)
    assert [label for label, _ in imported] == [3, 1, 4, 1, 5]
    np.testing.assert_array_equal(imported[0][1].input, image_to_input(stroke_png(3)))


def test_every_bad_row_is_reported_and_nothing_returned() -> None:
    files: dict[str, bytes | str] = {
        "a.png": stroke_png(1),
        "b.png": stroke_png(2),
        "blank.png": blank_png(),
        "text.png": b"this is not an image",
        "stray.png": stroke_png(5),
        "labels.csv": "file,label\n"  # row 1
        "a.png,1\n"  # 2: good
        "missing.png,2\n"  # 3
        "b.png,x\n"  # 4
        "b.png,10\n"  # 5
        "a.png,1\n"  # 6: duplicate
        "text.png,3\n"  # 7: undecodable
        "blank.png,4\n"  # 8: empty
        "b.png,2,extra\n"  # 9
        ",2\n"  # 10
        "../b.png,2\n",  # 11
    }
    exc = refused(zip_of(files))
    assert exc.status == 422 and "nothing was imported" in exc.detail
    by_row = {(e.row, e.file): e.error for e in exc.errors}
    assert list(by_row) == [(3, "missing.png"), (4, "b.png"), (5, "b.png"), (6, "a.png"),
                            (7, "text.png"), (8, "blank.png"), (9, "b.png"), (10, ""),
                            (11, "../b.png"), (None, "stray.png")], by_row  # fmt: skip
    assert "no such file" in by_row[3, "missing.png"]
    assert "0 to 9" in by_row[4, "b.png"] and "0 to 9" in by_row[5, "b.png"]
    assert "row 2" in by_row[6, "a.png"]
    assert "PNG, JPEG or WebP" in by_row[7, "text.png"]  # images are decoded all the same
    assert "empty" in by_row[8, "blank.png"].lower()
    assert "two columns" in by_row[9, "b.png"]
    assert "not listed" in by_row[None, "stray.png"]
    assert "10 rows are bad" in exc.detail


def test_too_many_rows_is_a_row_error() -> None:
    exc = refused(labelled_zip([1] * 7), LIMITS.__class__(**{**LIMITS.__dict__, "max_rows": 5}))
    assert exc.errors == [RowError(7, None, exc.errors[0].error)]
    assert "at most 5" in exc.errors[0].error


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({"a.png": b"x"}, "no labels.csv"),
        ({"labels.csv": "name,digit\na.png,1\n", "a.png": b"x"}, "header file,label"),
        ({"labels.csv": "file,label\n"}, "lists no drawings"),
        ({"labels.csv": b"file,label\n\xff\xfe,1\n"}, "not UTF-8"),
        ({"x/labels.csv": "file,label\n", "y/labels.csv": "file,label\n"}, "2 labels.csv"),
    ],
)
def test_a_zip_without_a_usable_labels_csv_is_refused(
    files: dict[str, bytes | str], words: str
) -> None:
    exc = refused(zip_of(files))
    assert exc.status == 422 and words in exc.detail


def test_not_a_zip_is_refused() -> None:
    exc = refused(stroke_png())
    assert exc.status == 422 and "not a zip" in exc.detail


@pytest.mark.parametrize("name", ["../evil.png", "/etc/evil.png", "a\\..\\evil.png", "C:/x.png"])
def test_path_traversal_names_are_refused(name: str) -> None:
    exc = refused(
        zip_of({"labels.csv": "file,label\na.png,1\n", "a.png": stroke_png(), name: b"x"})
    )
    assert exc.status == 422 and "unsafe file name" in exc.detail


def test_a_zip_bomb_is_refused_without_inflating_it() -> None:
    bomb = b"\0" * 50_000_000  # 50 MB of zeros: a ~50 KB member
    data = zip_of({"labels.csv": "file,label\nbomb.png,1\n", "bomb.png": bomb})
    assert len(data) < 200_000
    exc = refused(data)
    assert exc.status == 413 and "bomb.png" in exc.detail and "1,000,000" in exc.detail


def test_a_member_whose_header_lies_about_its_size_is_not_trusted() -> None:
    big = b"\0" * 3_000_000
    data = bytearray(zip_of({"labels.csv": "file,label\nbig.png,1\n", "big.png": big}))
    # Claim 100 bytes in both headers: reading stops there and the CRC check fails.
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(sig, data.index(b"big.png") - 60 if sig == b"PK\x03\x04" else 0)
        at = data.rindex(sig, 0, data.index(b"big.png", at) + 1)
        data[at + offset : at + offset + 4] = struct.pack("<I", 100)
    exc = refused(bytes(data))
    assert exc.status == 422 and "big.png: can't be unpacked" in exc.detail, exc.detail


def test_the_total_unpacked_size_and_the_file_count_are_limited() -> None:
    small = LIMITS.__class__(**{**LIMITS.__dict__, "max_total_bytes": 300_000})
    files: dict[str, bytes | str] = {f"f{k}.png": b"\0" * 100_000 for k in range(4)}
    files["labels.csv"] = "file,label\n" + "".join(f"f{k}.png,1\n" for k in range(4))
    exc = refused(zip_of(files), small)
    assert exc.status == 413 and "300,000" in exc.detail
    many = {f"f{k}.png": b"x" for k in range(60)}
    exc = refused(zip_of({"labels.csv": "file,label\nf0.png,1\n", **many}))
    assert exc.status == 413 and "more than 50 files" in exc.detail


def test_an_idx_that_does_not_match_the_rows_is_refused() -> None:
    idx = struct.pack(">IIII", 0x803, 3, 28, 28) + bytes(3 * 784)
    data = appended(labelled_zip([1, 2]), {"drawings-images-idx3-ubyte": idx})
    exc = refused(data)
    assert exc.status == 422 and "drawings-images-idx3-ubyte" in exc.detail


def test_a_central_directory_bomb_is_refused_before_it_is_parsed() -> None:
    """A zip whose end record declares far more entries than an import may hold (a few MB of
    central directory can declare hundreds of thousands) is refused from that record alone."""
    data = bytearray(labelled_zip([1, 2]))
    end = data.rindex(b"PK\x05\x06")
    data[end + 8 : end + 12] = struct.pack("<HH", 60_000, 60_000)  # entries on disk, in all
    exc = refused(bytes(data))
    assert exc.status == 413 and "60,000 entries" in exc.detail
    big = bytearray(labelled_zip([1, 2]))
    end = big.rindex(b"PK\x05\x06")
    big[end + 12 : end + 16] = struct.pack("<I", 50_000_000)  # the directory's size
    assert refused(bytes(big)).status == 413


def test_a_labels_csv_of_half_a_million_rows_is_read_only_up_to_max_rows() -> None:
    data = zip_of({"labels.csv": "file,label\n" + "a,1\n" * 500_000, "a": b"x"})
    assert len(data) < 20_000
    exc = refused(data)
    assert exc.status == 422 and len(exc.errors) <= 21
    assert exc.errors[-1] == RowError(
        22, None, "too many rows: an import takes at most 20 drawings"
    )


def test_the_pixels_of_an_import_are_bounded() -> None:
    huge = io.BytesIO()
    Image.new("1", (2100, 2100), 0).save(huge, "PNG")  # 4.4 MP in a few KB
    files: dict[str, bytes | str] = {"huge.png": huge.getvalue(), "a.png": stroke_png(1),
                                     "labels.csv": "file,label\nhuge.png,1\na.png,1\n"}  # fmt: skip
    exc = refused(zip_of(files))
    assert [(e.row, e.file) for e in exc.errors] == [(2, "huge.png")]
    assert "4,410,000 pixels" in exc.errors[0].error
    budget = LIMITS.__class__(**{**LIMITS.__dict__, "max_total_pixels": 100_000})
    exc = refused(labelled_zip([1, 2]), budget)  # two 280x280 drawings: 156,800 pixels
    assert exc.status == 413 and "156,800 pixels" in exc.detail


def test_a_directory_entry_with_an_unknown_zip_version_is_a_422() -> None:
    """The reviewer's fuzzing: a high "version needed to extract" made zipfile raise
    NotImplementedError, answered as a 500."""
    data = bytearray(zip_of({"labels.csv": "file,label\na.png,1\n", "a.png": stroke_png()}))
    at = data.find(b"PK\x01\x02")  # the first central-directory entry
    data[at + 6] = 255  # version needed to extract: 25.5
    exc = refused(bytes(data))
    assert exc.status == 422


def test_a_member_that_is_not_a_valid_deflate_stream_is_a_422() -> None:
    """zlib.error from a corrupt "deflated" member was answered as a 500."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("labels.csv", "file,label\n" + "a.png,1\n" * 50)
    data = bytearray(buffer.getvalue())
    start = 30 + int.from_bytes(data[26:28], "little") + int.from_bytes(data[28:30], "little")
    data[start] = data[start + 1] = 0xFF  # block type 11: reserved, invalid
    exc = refused(bytes(data))
    assert exc.status == 422 and "labels.csv" in exc.detail

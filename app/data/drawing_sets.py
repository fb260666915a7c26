"""Labelled drawings as files (issue 17): one drawing's image and network input, and a set of
them as a zip in MNIST's format (export) or a zip of PNGs with a `labels.csv` (import).

A drawing's input is made by app/data/decode.py's `to_input`, the function predict uses, so a
stored drawing is exactly what the network saw. The zip format (docs/api.md):

* `drawings-images-idx3-ubyte`: the inputs as uint8 (n, 28, 28), white ink on black (MNIST's);
* `drawings-labels-idx1-ubyte`: the labels as uint8 (n,);
* `labels.csv`: a `file,label` header, then one row per drawing, in the same order;
* `images/<id>.png`: each drawing's original image.

An import reads `labels.csv` and the PNGs it names, and validates every row before anything is
stored. When the zip also carries `drawings-images-idx3-ubyte` with one image per row (as an
export does), those are the inputs; otherwise each image is preprocessed as predict does. So an
export imports back to the same set: the same labels, the same 8-bit inputs.
"""

from __future__ import annotations

import csv
import io
import posixpath
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from app.data.decode import InputError, Pixels, to_input
from app.data.idx import IDXError, read_idx, write_idx
from app.fileio import MAX_ENTRY_BYTES, open_zip, zip_directory

SIDE = 28
INPUT_SIZE = SIDE * SIDE
IMAGES_IDX = "drawings-images-idx3-ubyte"
LABELS_IDX = "drawings-labels-idx1-ubyte"
LABELS_CSV = "labels.csv"
IMAGES_FOLDER = "images"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_REPORTED_ERRORS = 1000  # an import's 422 lists at most this many bad rows
MAX_CSV_BYTES = 4_000_000  # labels.csv: ~40 bytes a row for 100,000 rows


# --- one drawing --------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedDrawing:
    """What the store keeps of a drawing: its image as PNG and the network's input."""

    png: bytes
    input: np.ndarray  # float32 (784,), 0..1
    width: int
    height: int


class ImageTooLarge(ValueError):
    """An image above the drawings' byte limit (→ 413)."""


def input_png(x: np.ndarray) -> bytes:
    """A 28×28 PNG of a network input (white ink on black, as MNIST's digits)."""
    levels = np.clip(np.rint(np.asarray(x, np.float32) * 255), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(levels.reshape(SIDE, SIDE), "L").save(buf, "PNG")
    return buf.getvalue()


def as_png(data: bytes) -> tuple[bytes, int, int]:
    """The image as PNG (a PNG is kept byte for byte; JPEG/WebP re-encoded) and its size.
    Call it on bytes `to_input` accepted: they decode."""
    if data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR":  # its size, without PIL
        width, height = struct.unpack(">II", data[16:24])
        return data, width, height
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        if data.startswith(PNG_SIGNATURE):
            return data, width, height
        buf = io.BytesIO()
        image.save(buf, "PNG")
    return buf.getvalue(), width, height


def prepare(image: bytes | None, pixels: Pixels | None, max_bytes: int) -> PreparedDrawing:
    """A drawing from predict's inputs (image bytes or pixels): InputError when it is not a
    drawing predict would read, ImageTooLarge above `max_bytes`. Blocking work (a thread)."""
    if image is not None and len(image) > max_bytes:
        raise ImageTooLarge(
            f"image: {len(image):,} bytes is more than the limit of {max_bytes:,} for a drawing"
        )
    x, _ = to_input(image, pixels)
    if image is None:
        return PreparedDrawing(input_png(x), x, SIDE, SIDE)
    png, width, height = as_png(image)
    return PreparedDrawing(png, x, width, height)


# --- export -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportItem:
    name: str  # the drawing's id: images/<name>.png
    label: int
    input: np.ndarray  # float32 (784,)
    png: bytes


def to_levels(inputs: np.ndarray) -> np.ndarray:
    """Network inputs (n, 784) in 0..1 as MNIST's uint8 (n, 28, 28)."""
    levels = np.clip(np.rint(inputs.astype(np.float32) * 255), 0, 255).astype(np.uint8)
    return levels.reshape(-1, SIDE, SIDE)


def export_zip(items: Sequence[ExportItem]) -> bytes:
    """The zip of a set of drawings (the module's docstring has its format)."""
    inputs = np.stack([item.input for item in items]) if items else np.zeros((0, INPUT_SIZE))
    labels = np.array([item.label for item in items], np.uint8)
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    writer.writerow(["file", "label"])
    for item in items:
        writer.writerow([f"{IMAGES_FOLDER}/{item.name}.png", item.label])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(IMAGES_IDX, write_idx(to_levels(inputs)))
        archive.writestr(LABELS_IDX, write_idx(labels))
        archive.writestr(LABELS_CSV, rows.getvalue())
        for item in items:  # PNGs are compressed already
            archive.writestr(
                f"{IMAGES_FOLDER}/{item.name}.png", item.png, compress_type=zipfile.ZIP_STORED
            )
    return buf.getvalue()


# --- import -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportLimits:
    max_zip_bytes: int  # the upload itself
    max_files: int  # members of the zip (directories and __MACOSX/ not counted)
    max_image_bytes: int  # one image, decompressed
    max_total_bytes: int  # everything decompressed
    max_rows: int  # drawings in one import
    max_image_pixels: int = 4_000_000  # one image (a canvas drawing is well under 1 MP)
    max_total_pixels: int = 1_000_000_000  # all the images: bounds the decoding work


@dataclass(frozen=True)
class RowError:
    row: int | None  # the labels.csv line (the header is line 1); None: not a row's
    file: str | None
    error: str


class ImportRefused(ValueError):
    """The zip can't be imported; nothing was stored. `status`: 413 (over a size limit) or
    422 (invalid), with a `detail` and, for bad rows, each of them in `errors`."""

    def __init__(self, status: int, detail: str, errors: Sequence[RowError] = ()) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)


@dataclass(frozen=True)
class ImportRow:
    row: int  # its line in labels.csv
    file: str  # as labels.csv names it
    label: int
    image: bytes


def _refuse_row_errors(errors: list[RowError]) -> ImportRefused:
    """422 with every bad row (in labels.csv's order; files no row names last)."""
    ordered = sorted(errors, key=lambda e: (e.row is None, e.row or 0))
    shown = ordered[:MAX_REPORTED_ERRORS]
    more = f" (the first {len(shown)} are listed)" if len(errors) > len(shown) else ""
    rows = "1 row is" if len(errors) == 1 else f"{len(errors)} rows are"
    return ImportRefused(
        422,
        f"{rows} bad{more}; nothing was imported: fix them and import the zip again",
        shown,
    )


def _unsafe(name: str) -> bool:
    parts = name.split("/")
    return (
        name.startswith("/")
        or "\\" in name
        or "\0" in name
        or ".." in parts
        or (len(parts[0]) == 2 and parts[0][1] == ":")  # a Windows drive, C:
    )


def _ignored(name: str) -> bool:
    base = posixpath.basename(name)
    return name.endswith("/") or name.startswith("__MACOSX/") or base in (".DS_Store", "")


def _members(archive: zipfile.ZipFile, limits: ImportLimits) -> dict[str, zipfile.ZipInfo]:
    """The zip's files by name (directories and macOS metadata left out), after the safety
    checks that need no decompression: safe names, no duplicates, how many."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        if _unsafe(info.filename):
            raise ImportRefused(422, f"the zip holds an unsafe file name: {info.filename!r}")
        if _ignored(info.filename):
            continue
        if info.filename in members:
            raise ImportRefused(422, f"the zip holds {info.filename!r} twice")
        if info.flag_bits & 0x1:
            raise ImportRefused(422, f"{info.filename}: encrypted files are not supported")
        members[info.filename] = info
        if len(members) > limits.max_files:
            raise ImportRefused(
                413, f"the zip holds more than {limits.max_files:,} files, the limit"
            )
    return members


class _Reader:
    """Reads members with a cap on each and on the total (the sizes the zip declares are
    never trusted: a member is read up to one byte past its cap)."""

    def __init__(self, archive: zipfile.ZipFile, limits: ImportLimits) -> None:
        self.archive = archive
        self.limits = limits
        self.total = 0

    def read(self, info: zipfile.ZipInfo, cap: int) -> bytes:
        try:
            with self.archive.open(info) as member:
                data = member.read(cap + 1)
        except (
            zipfile.BadZipFile,
            NotImplementedError,
            OSError,
            EOFError,
            ValueError,
            zlib.error,
        ) as exc:
            raise ImportRefused(422, f"{info.filename}: can't be unpacked ({exc})") from None
        if len(data) > cap:
            raise ImportRefused(
                413, f"{info.filename} unpacks to more than {cap:,} bytes, the limit for it"
            )
        self.total += len(data)
        if self.total > self.limits.max_total_bytes:
            raise ImportRefused(
                413,
                f"the zip unpacks to more than {self.limits.max_total_bytes:,} bytes, the limit",
            )
        return data


def _find_labels(members: dict[str, zipfile.ZipInfo]) -> str:
    """labels.csv's name: at the zip's root, or in the one folder that holds everything."""
    found = sorted(name for name in members if posixpath.basename(name) == LABELS_CSV)
    if not found:
        raise ImportRefused(
            422, "the zip has no labels.csv: it needs one with a header row file,label"
        )
    if len(found) > 1:
        raise ImportRefused(422, f"the zip holds {len(found)} labels.csv files: {found[:5]}")
    return found[0]


def _records(data: bytes, max_rows: int) -> list[tuple[int, list[str]]]:
    """labels.csv's rows after its `file,label` header, each with its row number (the
    header is row 1); blank rows are skipped. At most `max_rows` + 1 are read (one more says
    there are too many)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(422, "labels.csv: not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[str]]] = []
    try:
        header = next(reader, None)
        if header is None or [cell.strip().lower() for cell in header] != ["file", "label"]:
            raise ImportRefused(422, "labels.csv: the first row must be the header file,label")
        for number, row in enumerate(reader, start=2):
            if row:
                records.append((number, row))
            if len(records) > max_rows:
                break
    except csv.Error as exc:
        raise ImportRefused(
            422, f"labels.csv: not valid CSV at line {reader.line_num} ({exc})"
        ) from None
    if not records:
        raise ImportRefused(422, "labels.csv lists no drawings (only its header)")
    return records


@dataclass(frozen=True)
class _Listed:
    row: int
    file: str
    label: int
    path: str  # the member's name in the zip


def _check_row(row: int, cells: list[str], base: str) -> _Listed | str:
    """A labels.csv row, or what is wrong with it."""
    if len(cells) != 2:
        return f"a row has two columns, file and label; this one has {len(cells)}"
    file, label = cells[0].strip(), cells[1].strip()
    if not file:
        return "the file name is empty"
    if _unsafe(file):
        return "an unsafe file name (absolute, or with .. or \\)"
    if label not in {str(digit) for digit in range(10)}:
        return f"the label must be a digit from 0 to 9, not {label[:20]!r}"
    return _Listed(row, file, int(label), posixpath.join(base, file) if base else file)


def _listed_rows(
    records: list[tuple[int, list[str]]],
    members: dict[str, zipfile.ZipInfo],
    base: str,
    max_rows: int,
) -> tuple[list[_Listed], list[RowError]]:
    """Every row checked (file name, label, the file is in the zip, listed once)."""
    listed: list[_Listed] = []
    errors: list[RowError] = []
    first_row: dict[str, int] = {}
    for count, (row, cells) in enumerate(records, start=1):
        if count > max_rows:
            why = f"too many rows: an import takes at most {max_rows:,} drawings"
            errors.append(RowError(row, None, why))
            break
        checked = _check_row(row, cells, base)
        file = cells[0].strip() if cells else None
        if isinstance(checked, str):
            errors.append(RowError(row, file, checked))
        elif checked.path in first_row:
            errors.append(RowError(row, file, f"listed already on row {first_row[checked.path]}"))
        elif checked.path not in members:
            errors.append(RowError(row, file, "no such file in the zip"))
        else:
            first_row[checked.path] = row
            listed.append(checked)
    return listed, errors


def _unlisted(
    members: dict[str, zipfile.ZipInfo], records: list[tuple[int, list[str]]], base: str
) -> list[RowError]:
    """The zip's files that no row of labels.csv names, not even a bad row (but for the
    export's IDX files)."""
    known = {posixpath.join(base, cells[0].strip()) for _, cells in records if cells}
    known |= {posixpath.join(base, name) if base else name
              for name in (LABELS_CSV, IMAGES_IDX, LABELS_IDX)}  # fmt: skip
    return [
        RowError(None, name, "in the zip but not listed in labels.csv")
        for name in members
        if name not in known
    ]


def _idx_inputs(
    members: dict[str, zipfile.ZipInfo], base: str, reader: _Reader, rows: int, max_rows: int
) -> np.ndarray | None:
    """The inputs of an export's IDX images file (one per row), None when there is none."""
    name = posixpath.join(base, IMAGES_IDX) if base else IMAGES_IDX
    info = members.get(name)
    if info is None:
        return None
    try:
        levels = read_idx(reader.read(info, 16 + max_rows * INPUT_SIZE))
    except IDXError as exc:
        raise ImportRefused(422, f"{IMAGES_IDX}: {exc}") from None
    if levels.dtype != np.uint8 or levels.shape != (rows, SIDE, SIDE):
        raise ImportRefused(
            422,
            f"{IMAGES_IDX} holds {levels.dtype} images of shape {levels.shape}; labels.csv "
            f"needs ({rows}, 28, 28) uint8, one image per row in its order",
        )
    return levels.reshape(rows, INPUT_SIZE).astype(np.float32) / np.float32(255)


# What decodes the images: `map` (one at a time), or a thread pool's map (the web layer's).
Decoded = PreparedDrawing | str
Mapper = Callable[[Callable[[ImportRow], Decoded], Iterable[ImportRow]], Iterator[Decoded]]
Progress = Callable[[int, int], None]  # (images decoded, of how many)
PROGRESS_EVERY = 1000


def _open(data: bytes, limits: ImportLimits) -> zipfile.ZipFile:
    """The zip, once its size and its central directory's are within the limits: zipfile
    parses the whole directory at once, and 15 MB of it declares 300,000 files."""
    if len(data) > limits.max_zip_bytes:
        raise ImportRefused(
            413, f"the zip is {len(data):,} bytes, more than the limit of {limits.max_zip_bytes:,}"
        )
    most = 2 * limits.max_files + 100  # each file, its folder and macOS's ._ copy
    declared = zip_directory(data)
    if declared is not None and (declared[0] > most or declared[1] > most * MAX_ENTRY_BYTES):
        raise ImportRefused(
            413,
            f"the zip declares {declared[0]:,} entries in {declared[1]:,} bytes of directory; "
            f"an import takes at most {limits.max_files:,} files",
        )
    try:
        return open_zip(data)
    except ValueError as exc:
        raise ImportRefused(422, f"file: not a zip file ({exc})") from None


def _pixels(image: bytes) -> int | None:
    """How many pixels an image has, from its header (None when it can't be read: decoding
    says why)."""
    if image.startswith(PNG_SIGNATURE) and image[12:16] == b"IHDR":
        width, height = struct.unpack(">II", image[16:24])
        return int(width) * int(height)
    try:
        with Image.open(io.BytesIO(image)) as opened:
            return opened.size[0] * opened.size[1]
    except Exception:  # any header Pillow can't read: the decoding reports it
        return None


def _sized(rows: list[ImportRow], limits: ImportLimits) -> tuple[list[ImportRow], list[RowError]]:
    """The rows whose image is within the pixel limit (the others as errors); 413 when all
    the images together exceed the pixel budget (the decoding work an import may ask for)."""
    kept, errors, total = [], [], 0
    for row in rows:
        pixels = _pixels(row.image)
        if pixels is not None and pixels > limits.max_image_pixels:
            why = f"the image has {pixels:,} pixels, more than the {limits.max_image_pixels:,}"
            errors.append(RowError(row.row, row.file, why + " an imported drawing may have"))
            continue
        total += pixels or 0
        kept.append(row)
    if total > limits.max_total_pixels:
        raise ImportRefused(
            413,
            f"the images have {total:,} pixels in all, more than the limit of "
            f"{limits.max_total_pixels:,} for one import: import them in parts",
        )
    return kept, errors


@dataclass(frozen=True)
class ReadRows:
    rows: list[ImportRow]  # the rows to decode (those found well-formed so far)
    idx: np.ndarray | None  # an export's inputs, one per row (only when every row is good)
    errors: list[RowError]  # the bad rows found so far


def read_rows(data: bytes, limits: ImportLimits) -> ReadRows:
    """The rows of an import zip with their image bytes, what is wrong with the others, and
    the export's IDX inputs when it carries them; ImportRefused when the zip itself is wrong
    or over a limit, or has too many rows."""
    with _open(data, limits) as archive:
        members = _members(archive, limits)
        reader = _Reader(archive, limits)
        labels = _find_labels(members)
        base = posixpath.dirname(labels)
        records = _records(reader.read(members[labels], MAX_CSV_BYTES), limits.max_rows)
        listed, errors = _listed_rows(records, members, base, limits.max_rows)
        if len(records) > limits.max_rows:  # the rows past the limit aren't even read
            raise _refuse_row_errors(errors)
        errors += _unlisted(members, records, base)
        read = [
            ImportRow(item.row, item.file, item.label,
                      reader.read(members[item.path], limits.max_image_bytes))
            for item in listed
        ]  # fmt: skip
        rows, too_big = _sized(read, limits)
        errors += too_big
        idx = None if errors else _idx_inputs(members, base, reader, len(rows), limits.max_rows)
        return ReadRows(rows, idx, errors)


def decode_row(row: ImportRow) -> Decoded:
    """One row's drawing, or what is wrong with its image (a top-level function: a process
    pool can run it)."""
    try:
        return prepare(row.image, None, len(row.image))
    except InputError as exc:
        return str(exc)


def decode_rows(
    read: ReadRows, mapper: Mapper = map, progress: Progress | None = None
) -> list[tuple[int, PreparedDrawing]]:
    """(label, drawing) of every row, in order; ImportRefused listing every bad row: those
    `read_rows` found and those whose image predict would refuse, all in one answer."""
    prepared: list[tuple[int, PreparedDrawing]] = []
    errors = list(read.errors)
    rows, idx = read.rows, read.idx
    for k, (row, decoded) in enumerate(zip(rows, mapper(decode_row, rows), strict=True)):
        if isinstance(decoded, str):
            errors.append(RowError(row.row, row.file, decoded))
        elif idx is not None:
            prepared.append((row.label, PreparedDrawing(
                decoded.png, idx[k], decoded.width, decoded.height)))  # fmt: skip
        else:
            prepared.append((row.label, decoded))
        if progress is not None and (k + 1) % PROGRESS_EVERY == 0:
            progress(k + 1, len(rows))
    if errors:
        raise _refuse_row_errors(errors)
    return prepared


def read_import(
    data: bytes,
    limits: ImportLimits,
    mapper: Mapper = map,
    progress: Progress | None = None,
) -> list[tuple[int, PreparedDrawing]]:
    """(label, drawing) of every row of an import zip, in labels.csv's order; ImportRefused
    (413/422, every bad row listed) when any row or the zip itself is not right. Blocking
    work: call it from a thread; `mapper` decodes the images (e.g. a pool's map)."""
    return decode_rows(read_rows(data, limits), mapper, progress)

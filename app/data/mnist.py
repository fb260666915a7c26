"""The MNIST database, and every dataset in its format: find it locally, download and verify it,
load it into arrays.

Sources, in order: an explicit folder (default ``$NNP_MNIST_DIR``; for another dataset of the
registry, app/data/datasets.py, its own such as ``$NNP_FASHION_MNIST_DIR``), the app's cache
folder (``$XDG_CACHE_HOME/nn-playground``, else ``~/.cache/nn-playground``; another dataset in
its own folder under it), then a download from the first mirror that serves a file whose
SHA-256 matches the published one: of the decompressed file for MNIST, of the ``.gz`` file where
only that is published (Fashion-MNIST; see app/data/datasets.py).
Every MNIST file is accepted gzip-compressed (``<name>.gz``) or uncompressed (``<name>``); a
dataset checksummed as ``.gz`` only compressed.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import numpy as np

from app.data.datasets import (
    MNIST_DATASET,
    TEST_FILES,
    TRAIN_FILES,
    Dataset,
    DatasetOverride,
    get_dataset,
)
from app.data.idx import IDXError, idx_payload, read_idx
from app.nn.vocab import DatasetName

__all__ = [
    "MIRRORS",
    "MNIST",
    "MNIST_FILES",
    "TEST_FILES",
    "TRAIN_FILES",
    "DataSource",
    "MNISTUnavailable",
    "default_cache_dir",
    "download_dataset",
    "download_mnist",
    "find_dataset",
    "find_mnist",
    "load_dataset",
    "load_dataset_test",
    "load_mnist",
    "load_mnist_test",
    "load_test_set",
    "load_training_data",
]

# SHA-256 of each *decompressed* file: the same whatever gzip settings a mirror used.
MNIST_FILES: dict[str, str] = dict(MNIST_DATASET.checksums)

# Each serves <name>.gz under these prefixes.
MIRRORS: list[str] = list(MNIST_DATASET.mirrors)

# A mirror sending more than this for one file is not sending MNIST (the largest file is
# 47 MB uncompressed); stop before it fills the disk.
MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024
_CHUNK = 64 * 1024

Progress = Callable[[int, int], None]


class MNISTUnavailable(RuntimeError):
    """MNIST (or another registry dataset) could not be found, verified or downloaded; the
    message says what to do."""


def _mnist(checksums: Mapping[str, str], mirrors: Sequence[str] = MIRRORS) -> Dataset:
    """The MNIST entry with these checksums and mirrors (the MNIST functions' arguments)."""
    return replace(MNIST_DATASET, checksums=checksums, mirrors=tuple(mirrors))


@dataclass(frozen=True)
class MNIST:
    """The four arrays of MNIST or a dataset in its format (read-only when they come from
    load_mnist or load_dataset, which share them)."""

    train_images: np.ndarray  # (60000, 28, 28) uint8
    train_labels: np.ndarray  # (60000,) uint8
    test_images: np.ndarray  # (10000, 28, 28) uint8
    test_labels: np.ndarray  # (10000,) uint8


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/nn-playground``, else ``~/.cache/nn-playground``."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "nn-playground"


MNIST_DIR_ENV = MNIST_DATASET.dir_env  # NNP_MNIST_DIR: a folder holding the four files


def _file_in(directory: Path, name: str, ds: Dataset = MNIST_DATASET) -> Path | None:
    """The file holding ``name`` in ``directory``: uncompressed first, then ``.gz`` (only
    ``.gz`` for a dataset checksummed as published .gz files)."""
    plain: tuple[Path, ...] = () if ds.checksummed == "compressed" else (directory / name,)
    for candidate in (*plain, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _manual_hint(names: Iterable[str], cache_dir: Path, ds: Dataset = MNIST_DATASET) -> str:
    listed = ", ".join(names)
    forms = ".gz as published" if ds.checksummed == "compressed" else ".gz or uncompressed"
    return (
        f"put the files ({listed}; {forms}) in {cache_dir}, "
        f"or set {ds.dir_env} to the folder that holds them"
    )


# --- verification -------------------------------------------------------------------------

# (path, what was hashed) -> (size, mtime_ns, sha256) of files already hashed in this process,
# so a folder is checksummed once rather than on every load.
_hashed: dict[tuple[str, str], tuple[int, int, str]] = {}
_hashed_lock = threading.Lock()


def _sha256_of_payload(path: Path) -> str:
    """SHA-256 of the decompressed content of ``path`` (gzip or raw), streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        is_gzip = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if is_gzip else raw
        total = 0
        while chunk := stream.read(1024 * 1024):
            total += len(chunk)
            if total > 2 * MAX_DOWNLOAD_BYTES:
                raise ValueError("decompresses to far more than any MNIST file")
            digest.update(chunk)
    return digest.hexdigest()


def _sha256_of_file(path: Path) -> str:
    """SHA-256 of the bytes of ``path`` as stored (a published .gz file's checksum)."""
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        while chunk := raw.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _digest_of(path: Path, ds: Dataset) -> str:
    """The SHA-256 ``ds``'s checksums are comparable with: of the payload or of the file."""
    return _sha256_of_file(path) if ds.checksummed == "compressed" else _sha256_of_payload(path)


def _known_digest(path: Path, ds: Dataset) -> str | None:
    """The digest of ``path`` computed earlier in this process, if the file is unchanged."""
    stat = path.stat()
    with _hashed_lock:
        known = _hashed.get((str(path.resolve()), ds.checksummed))
    if known and known[:2] == (stat.st_size, stat.st_mtime_ns):
        return known[2]
    return None


def _payload_digest(path: Path, ds: Dataset = MNIST_DATASET) -> str | None:
    """The cached or freshly computed SHA-256 of ``path`` (of its payload, or of the file for
    a dataset checksummed as .gz); None if unreadable."""
    try:
        known = _known_digest(path, ds)
        if known is not None:
            return known
        digest = _digest_of(path, ds)
    except (OSError, EOFError, zlib.error, ValueError):
        return None
    _remember_digest(path, digest, ds)
    return digest


def _remember_digest(path: Path, digest: str, ds: Dataset = MNIST_DATASET) -> None:
    stat = path.stat()
    with _hashed_lock:
        _hashed[(str(path.resolve()), ds.checksummed)] = (stat.st_size, stat.st_mtime_ns, digest)


# --- locating -----------------------------------------------------------------------------


def find_mnist(
    mnist_dir: Path | None = None,
    cache_dir: Path | None = None,
    *,
    files: Sequence[str] | None = None,
    checksums: Mapping[str, str] = MNIST_FILES,
) -> Path | None:
    """The first folder holding every requested MNIST file, or None.

    Looks in ``mnist_dir`` (default ``$NNP_MNIST_DIR``) then ``cache_dir`` (default
    default_cache_dir()). ``files`` defaults to all four. Only checks that the files exist;
    load_mnist verifies their checksums.
    """
    return find_dataset(_mnist(checksums), mnist_dir, cache_dir, files=files)


def find_dataset(
    ds: Dataset,
    directory: Path | None = None,
    cache_dir: Path | None = None,
    *,
    files: Sequence[str] | None = None,
) -> Path | None:
    """The first folder holding every requested file of ``ds``, or None: ``directory``
    (default ``$<ds.dir_env>``), then ``cache_dir`` (default its folder in
    default_cache_dir()). Only checks that the files exist; loading verifies them."""
    names = list(files) if files is not None else list(ds.checksums)
    explicit = directory if directory is not None else ds.env_dir()
    cache = cache_dir if cache_dir is not None else ds.cache_in(default_cache_dir())
    for folder in (explicit, cache):
        if folder is not None and all(_file_in(Path(folder), n, ds) for n in names):
            return Path(folder)
    return None


# --- downloading --------------------------------------------------------------------------


class _MirrorFailed(Exception):
    """One mirror could not deliver one file; the message is the short reason.

    ``unreachable`` means the server itself could not be reached (no connection), so the
    other files need not wait for it to time out again.
    """

    def __init__(self, reason: str, *, unreachable: bool = False):
        super().__init__(reason)
        self.unreachable = unreachable


class _ProgressTracker:
    """Reports (bytes received, bytes expected in all) across every file and attempt.

    Bytes received only grow; the expected total is what has been received plus what is
    still expected, so it moves when a mirror fails or a server's size differs from the
    estimate, and equals bytes received once everything is in.
    """

    def __init__(self, callback: Progress | None, estimates: dict[str, int]):
        self.callback = callback
        self.done = 0
        self.remaining = dict(estimates)

    def report(self) -> None:
        if self.callback is not None:
            self.callback(self.done, self.done + sum(self.remaining.values()))

    def start(self, name: str, length: int | None) -> None:
        if length is not None:
            self.remaining[name] = length
        self.report()

    def received(self, name: str, count: int) -> None:
        self.done += count
        self.remaining[name] = max(0, self.remaining.get(name, 0) - count)
        self.report()

    def finished(self, name: str) -> None:
        self.remaining[name] = 0
        self.report()


def _url(mirror: str, name: str) -> str:
    return f"{mirror.rstrip('/')}/{name}.gz"


def _estimate_size(
    client: httpx.Client, mirrors: Sequence[str], name: str, unreachable: dict[str, str]
) -> int:
    """The Content-Length the first answering mirror announces for ``name``, else 0.

    Mirrors that cannot be connected to are added to ``unreachable`` (mirror -> reason).
    """
    for mirror in mirrors:
        if mirror in unreachable:
            continue
        try:
            response = client.head(_url(mirror, name), headers={"Accept-Encoding": "identity"})
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            unreachable[mirror] = f"{type(exc).__name__}: {exc}"
            continue
        except httpx.HTTPError:
            continue
        length = response.headers.get("Content-Length", "")
        if response.status_code == 200 and length.isdigit():
            return int(length)
    return 0


def _fetch(
    client: httpx.Client,
    url: str,
    name: str,
    ds: Dataset,
    cache_dir: Path,
    tracker: _ProgressTracker,
) -> Path:
    """Stream ``url`` to a .part file, verify it, and rename it into ``cache_dir``."""
    fd, part_name = tempfile.mkstemp(dir=cache_dir, prefix=f".{name}.", suffix=".part")
    part = Path(part_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                # identity: we want the bytes as stored, counted as Content-Length counts them.
                headers = {"Accept-Encoding": "identity"}
                with client.stream("GET", url, headers=headers) as response:
                    if response.status_code != 200:
                        raise _MirrorFailed(f"HTTP {response.status_code}")
                    length = response.headers.get("Content-Length", "")
                    tracker.start(name, int(length) if length.isdigit() else None)
                    size = 0
                    for chunk in response.iter_raw(_CHUNK):
                        size += len(chunk)
                        if size > MAX_DOWNLOAD_BYTES:
                            raise _MirrorFailed(f"sent more than {MAX_DOWNLOAD_BYTES} bytes")
                        out.write(chunk)
                        tracker.received(name, len(chunk))
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise _MirrorFailed(f"{type(exc).__name__}: {exc}", unreachable=True) from None
            except httpx.HTTPError as exc:
                raise _MirrorFailed(f"{type(exc).__name__}: {exc}") from None
            out.flush()
            os.fsync(out.fileno())
        with part.open("rb") as check:
            is_gzip = check.read(2) == b"\x1f\x8b"
        try:
            digest = _digest_of(part, ds)
        except (EOFError, zlib.error, ValueError, gzip.BadGzipFile) as exc:
            raise _MirrorFailed(f"bad gzip data ({exc})") from None
        if digest != ds.checksums[name]:
            raise _MirrorFailed(f"SHA-256 mismatch: got {digest[:12]}…")
        final = cache_dir / (f"{name}.gz" if is_gzip else name)
        os.replace(part, final)
        # A stale copy in the other form would shadow or confuse the good one.
        other = cache_dir / (name if is_gzip else f"{name}.gz")
        other.unlink(missing_ok=True)
        _remember_digest(final, digest, ds)
        tracker.finished(name)
        return final
    finally:
        part.unlink(missing_ok=True)


def download_mnist(
    cache_dir: Path | None = None,
    *,
    mirrors: Sequence[str] = MIRRORS,
    progress: Progress | None = None,
    client: httpx.Client | None = None,
    files: Sequence[str] | None = None,
    checksums: Mapping[str, str] = MNIST_FILES,
    timeout: float = 30.0,
) -> Path:
    """Download the MNIST files missing (or wrong) in ``cache_dir`` and return that folder.

    Each file ``<name>.gz`` is tried on every mirror in order; a mirror that answers with an
    HTTP error, fails to connect, or sends bytes whose decompressed SHA-256 differs from
    ``checksums[name]`` is skipped. ``files`` selects a subset (e.g. TEST_FILES; default all
    of ``checksums``). ``progress(done_bytes, total_bytes)`` is called as bytes arrive, over
    the whole download. Raises MNISTUnavailable, naming every URL tried, when no mirror
    delivers a file.
    """
    return download_dataset(
        _mnist(checksums, mirrors), cache_dir, progress=progress, client=client, files=files,
        timeout=timeout,
    )  # fmt: skip


def download_dataset(
    ds: Dataset,
    cache_dir: Path | None = None,
    *,
    progress: Progress | None = None,
    client: httpx.Client | None = None,
    files: Sequence[str] | None = None,
    timeout: float = 30.0,
) -> Path:
    """download_mnist for any registry entry: its files missing (or wrong) in ``cache_dir``
    (default: its folder in default_cache_dir()) from its mirrors, verified by its checksums."""
    cache_dir = Path(cache_dir) if cache_dir is not None else ds.cache_in(default_cache_dir())
    names = list(files) if files is not None else list(ds.checksums)
    unknown = [n for n in names if n not in ds.checksums]
    if unknown:
        raise ValueError(f"unknown {ds.title} file(s): {', '.join(unknown)}")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MNISTUnavailable(
            f"cannot create the {ds.title} cache folder {cache_dir}: {exc}"
        ) from None

    def present(name: str) -> bool:
        path = _file_in(cache_dir, name, ds)
        return path is not None and _payload_digest(path, ds) == ds.checksums[name]

    # One download per machine: another process (a second run's worker) waits here, then finds
    # the files present.
    with _cache_lock(cache_dir):
        todo = [n for n in names if not present(n)]
        if todo:
            _download_missing(cache_dir, todo, ds, progress, client, timeout)
    return cache_dir


@contextlib.contextmanager
def _cache_lock(cache_dir: Path) -> Iterator[None]:
    """An exclusive lock on the cache folder across processes (none where flock is missing)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: concurrent downloads just both write (atomically)
        yield
        return
    folder = os.open(cache_dir, os.O_RDONLY)  # the folder itself: no lock file left behind
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)  # releases the lock


def _download_missing(
    cache_dir: Path,
    todo: list[str],
    ds: Dataset,
    progress: Progress | None,
    client: httpx.Client | None,
    timeout: float,
) -> None:
    mirrors = ds.mirrors

    own_client = client is None
    if client is None:
        client = httpx.Client(timeout=httpx.Timeout(timeout, connect=10.0), follow_redirects=True)
    try:
        # A mirror that refuses connections (or times out connecting) is not asked again in
        # this call: with four files that would be four more timeouts.
        unreachable: dict[str, str] = {}
        estimates = {n: _estimate_size(client, mirrors, n, unreachable) for n in todo}
        tracker = _ProgressTracker(progress, estimates)
        tracker.report()
        for name in todo:
            failures = []
            for mirror in mirrors:
                url = _url(mirror, name)
                if mirror in unreachable:
                    failures.append(f"{url} ({unreachable[mirror]})")
                    continue
                try:
                    _fetch(client, url, name, ds, cache_dir, tracker)
                    break
                except _MirrorFailed as exc:
                    failures.append(f"{url} ({exc})")
                    if exc.unreachable:
                        unreachable[mirror] = str(exc)
                except OSError as exc:
                    raise MNISTUnavailable(
                        f"cannot write {ds.title} into {cache_dir}: {exc}"
                    ) from None
            else:
                tried = "; ".join(failures) if failures else "no mirrors configured"
                raise MNISTUnavailable(
                    f"Could not download {ds.title} file {name}.gz from any mirror: {tried}. "
                    f"To install {ds.title} by hand, {_manual_hint(todo, cache_dir, ds)}."
                )
    finally:
        if own_client:
            client.close()


# --- loading ------------------------------------------------------------------------------


def _load_verified(path: Path, name: str, ds: Dataset) -> np.ndarray:
    """Read one IDX file, checking it against the expected SHA-256 (once per file)."""
    try:
        payload = idx_payload(path)
    except IDXError as exc:
        raise MNISTUnavailable(f"{ds.title} file {exc}") from None
    digest = _known_digest(path, ds)
    if digest is None:
        if ds.checksummed == "compressed":
            digest = _sha256_of_file(path)
        else:
            digest = hashlib.sha256(payload).hexdigest()
        _remember_digest(path, digest, ds)
    expected = ds.checksums[name]
    if digest != expected:
        published = f"{name}.gz" if ds.checksummed == "compressed" else name
        raise MNISTUnavailable(
            f"{ds.title} file {path} is not the published {published} (SHA-256 {digest[:16]}…, "
            f"expected {expected[:16]}…): replace it or remove it to download again"
        )
    try:
        return read_idx(payload, copy=False)
    except IDXError as exc:
        raise MNISTUnavailable(f"{ds.title} file {path}: {exc}") from None


def _check_pair(
    images: np.ndarray, labels: np.ndarray, split: str, ds: Dataset = MNIST_DATASET
) -> None:
    what = ds.title
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise MNISTUnavailable(
            f"{what} {split} images: expected (N, 28, 28) uint8, got {images.shape} {images.dtype}"
        )
    if labels.dtype != np.uint8 or labels.shape != (images.shape[0],):
        raise MNISTUnavailable(
            f"{what} {split} labels: expected ({images.shape[0]},) uint8, got "
            f"{labels.shape} {labels.dtype}"
        )
    top = len(ds.class_names) - 1
    if labels.size and labels.max() > top:
        raise MNISTUnavailable(f"{what} {split} labels: values must be 0..{top}")


_loaded: dict[tuple[str, int, int, str], np.ndarray] = {}
_load_lock = threading.Lock()


def _load_files(
    names: Sequence[str],
    directory: Path | None,
    cache_dir: Path | None,
    download: bool,
    progress: Progress | None,
    ds: Dataset,
) -> tuple[np.ndarray, ...]:
    """Locate (or download) ``names`` of ``ds`` and return their arrays, cached per process."""
    cache = Path(cache_dir) if cache_dir is not None else ds.cache_in(default_cache_dir())
    with _load_lock:  # one loader at a time: a second caller waits and gets the cached arrays
        found = find_dataset(ds, directory, cache, files=names)
        if found is None:
            if not download:
                raise MNISTUnavailable(
                    f"{ds.title} not found and downloading is off: {_manual_hint(names, cache, ds)}"
                )
            found = download_dataset(ds, cache, progress=progress, files=names)
        paths = [_file_in(found, name, ds) for name in names]
        if any(p is None for p in paths):  # removed between find and load
            raise MNISTUnavailable(f"{ds.title} files vanished from {found}")
        arrays = []
        for name, path in zip(names, paths, strict=True):
            stat = path.stat()  # type: ignore[union-attr]
            # Keyed by the file's identity, so a replaced file is read again.
            key = (str(path), stat.st_size, stat.st_mtime_ns, ds.checksums[name])
            if key not in _loaded:
                array = _load_verified(path, name, ds)  # type: ignore[arg-type]
                array.flags.writeable = False  # shared by every caller in the process
                _loaded[key] = array
            arrays.append(_loaded[key])
        return tuple(arrays)


def load_dataset(
    ds: Dataset,
    directory: Path | None = None,
    cache_dir: Path | None = None,
    *,
    download: bool = True,
    progress: Progress | None = None,
) -> MNIST:
    """All of ``ds`` as read-only uint8 arrays, cached per process (see load_mnist; the
    default folders are ``$<ds.dir_env>`` and its folder in default_cache_dir())."""
    names = [*ds.train_files, *ds.test_files]
    arrays = _load_files(names, directory, cache_dir, download, progress, ds)
    train_images, train_labels, test_images, test_labels = arrays
    _check_pair(train_images, train_labels, "training", ds)
    _check_pair(test_images, test_labels, "test", ds)
    return MNIST(train_images, train_labels, test_images, test_labels)


def load_dataset_test(
    ds: Dataset,
    directory: Path | None = None,
    cache_dir: Path | None = None,
    *,
    download: bool = True,
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Only the test split of ``ds`` (see load_mnist_test)."""
    images, labels = _load_files(list(ds.test_files), directory, cache_dir, download, progress, ds)
    _check_pair(images, labels, "test", ds)
    return images, labels


def load_mnist(
    mnist_dir: Path | None = None,
    cache_dir: Path | None = None,
    *,
    download: bool = True,
    progress: Progress | None = None,
    mirrors: Sequence[str] = MIRRORS,
    checksums: Mapping[str, str] = MNIST_FILES,
) -> MNIST:
    """All of MNIST as read-only uint8 arrays, cached per process.

    Looks in ``mnist_dir`` (default ``$NNP_MNIST_DIR``), then ``cache_dir`` (default
    default_cache_dir()), then downloads into ``cache_dir`` unless ``download`` is False.
    Raises MNISTUnavailable when the files cannot be found, verified or downloaded.
    """
    return load_dataset(
        _mnist(checksums, mirrors), mnist_dir, cache_dir, download=download, progress=progress
    )


def load_mnist_test(
    mnist_dir: Path | None = None,
    cache_dir: Path | None = None,
    *,
    download: bool = True,
    progress: Progress | None = None,
    mirrors: Sequence[str] = MIRRORS,
    checksums: Mapping[str, str] = MNIST_FILES,
) -> tuple[np.ndarray, np.ndarray]:
    """Only the test split: ((10000, 28, 28) uint8 images, (10000,) uint8 labels).

    Same sources as load_mnist, but needs (and downloads) only the two t10k files: 1.6 MB
    instead of 11 MB, for serving random test digits.
    """
    return load_dataset_test(
        _mnist(checksums, mirrors), mnist_dir, cache_dir, download=download, progress=progress
    )


def pixel_values(image: np.ndarray) -> list[float]:
    """A (28, 28) uint8 MNIST image as 784 numbers in 0..1 (4 decimals), as the API sends it."""
    values: list[float] = np.round(image.reshape(-1) / 255.0, 4).tolist()
    return values


@dataclass(frozen=True)
class DataSource:
    """Where MNIST comes from, as the server's settings say (so app/runs and the workers never
    read Settings): a folder that holds it, the download cache, whether to download, and the
    mirrors (None: the built-in public ones). `datasets`: other registry datasets' sources
    (NNP_DATASETS, by name: a folder, mirrors, checksums), each downloaded into its own folder
    under the cache."""

    mnist_dir: Path | None
    cache_dir: Path
    download: bool = True
    mirrors: tuple[str, ...] | None = None
    datasets: Mapping[DatasetName, DatasetOverride] = field(default_factory=dict)

    def resolve(self, name: DatasetName = "mnist") -> tuple[Dataset, Path | None, Path]:
        """The registry entry `name` as this source configures it, the folder that holds it
        (None: its $NNP_<NAME>_DIR), and its download folder. ValueError for an unknown name."""
        override = self.datasets.get(name) or DatasetOverride()
        if name == "mnist" and self.mirrors and not override.get("mirrors"):
            override = {**override, "mirrors": list(self.mirrors)}
        ds = get_dataset(name).with_override(override)
        folder = override.get("dir")
        directory = Path(folder) if folder else (self.mnist_dir if name == "mnist" else None)
        return ds, directory, ds.cache_in(self.cache_dir)


def load_training_data(
    source: DataSource, progress: Progress | None = None, dataset: DatasetName = "mnist"
) -> MNIST:
    """All of `dataset` (default MNIST) from `source` (see load_mnist)."""
    ds, directory, cache = source.resolve(dataset)
    return load_dataset(ds, directory, cache, download=source.download, progress=progress)


def load_test_set(
    source: DataSource, *, download: bool | None = None, dataset: DatasetName = "mnist"
) -> tuple[np.ndarray, np.ndarray]:
    """The test split of `dataset` (default MNIST) from `source` (see load_mnist_test);
    `download=False` only looks on disk whatever the source says."""
    ds, directory, cache = source.resolve(dataset)
    return load_dataset_test(
        ds, directory, cache, download=source.download if download is None else download
    )

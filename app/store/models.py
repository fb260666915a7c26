"""The model registry: shipped models (read-only package data) plus saved and uploaded ones.

Every model's `Network` stays in memory, so a prediction never touches the disk. Metadata of
saved/uploaded models lives in SQLite; their weights in `<data_dir>/models/<id>.npz`.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

import numpy as np

from app.clock import utc_now
from app.data.deslant import expects_deslant, model_input
from app.data.strokes import expects_strokes
from app.fileio import MAX_ENTRY_BYTES, open_zip, zip_directory
from app.jsontypes import JSONObject
from app.nn.dreams import DreamOverflow, Dreams, dream
from app.nn.network import Network
from app.nn.serialize import (
    MAX_LAYERS,
    MAX_META_BYTES,
    ModelFileError,
    load_model,
    model_classes,
    model_from_bytes,
    model_to_bytes,
)
from app.presets import MAX_PARAMETERS, parameter_count
from app.store.db import TEACHER_ID, Store
from app.store.disk import is_disk_full, storage_full
from app.store.files import (
    ORPHANS_FOLDER,
    bytes_in,
    is_valid_id,
    orphan_files,
    path_for,
    remove_leftover_temps,
    sweep_orphans,
    write_atomic,
)
from app.store.metadata import (
    MAX_NAME_LENGTH,
    BadMetadata,
    Row,
    accuracy,
    check_row,
    lenient_accuracy,
    servable,
)
from app.store.quotas import OverQuota, Quotas

log = logging.getLogger(__name__)

PREFERRED_DEFAULT = "accurate"
DEFAULT_KEY = "default_model"
# The most an upload may unpack to: the parameter limit in float64 (the widest dtype a model
# file may use), the metadata, and an .npy header per member. Checked on the zip directory
# before anything is decompressed, so a zip bomb is refused unopened.
MAX_UPLOAD_UNCOMPRESSED = 8 * MAX_PARAMETERS + MAX_META_BYTES + 4096 * (2 * MAX_LAYERS + 1)
# GET .../network answers every weight up to this many; above, the strongest of each layer.
FULL_NETWORK_WEIGHTS = 300_000
KEPT_WEIGHTS_PER_LAYER = 2_000  # the page draws the 1,400 strongest of each layer


@dataclass
class ModelEntry:
    id: str
    name: str
    network: Network | None
    path: Path
    shipped: bool
    created: str | None
    test_accuracy: float | None
    source_run: str | None
    broken: str | None = None  # why the file failed to load; then `network` is None
    owner: str | None = None  # the Principal id of who saved or uploaded it; None: shipped
    shared: bool = True  # others may use it (predict, explain, dreams, export); shipped: always
    # fashion (issue 17 §3): the dataset it was trained on and its outputs' names.
    dataset: str = "mnist"
    class_names: tuple[str, ...] = tuple(str(d) for d in range(10))
    # handwriting (issue 17 §5): the network was trained on deslanted digits (metadata
    # "deslant": true) and reads drawings deslanted the same way; False: today's input.
    deslant: bool = False
    # strokes (issue 17 §5): trained on stroke-width-normalised digits (metadata "strokes":
    # true, app/data/strokes.py), and reads drawings normalised the same way.
    strokes: bool = False

    def input_for(self, x: np.ndarray) -> np.ndarray:
        """The (784,) input this model reads for preprocess's output `x`: `x` itself, or
        stroke-normalised and/or deslanted (app/data/deslant.py's model_input) for a model
        trained so. Predict, explain and the page's preview (predict's `input`) all go
        through here."""
        return model_input(x, self.deslant, self.strokes)

    @property
    def net(self) -> Network:
        """The loaded network (`ModelRegistry.get` never answers a broken model)."""
        if self.network is None:
            raise ModelNotFound(f"model {self.id!r} failed to load: {self.broken}")
        return self.network

    def info(self) -> JSONObject:
        net = self.network
        if net is None:
            return {
                "id": self.id,
                "name": self.name,
                "sizes": [],
                "activation": "",
                "cost": "",
                "parameters": 0,
                "test_accuracy": self.test_accuracy,
                "created": self.created,
                "source_run": self.source_run,
                "shipped": self.shipped,
                "owner": self.owner,
                "shared": self.shared,
                "broken": True,
                "reason": self.broken,
                "dataset": self.dataset,
                "class_names": list(self.class_names),
                "deslant": self.deslant,
                "strokes": self.strokes,
            }
        return {
            "id": self.id,
            "name": self.name,
            "sizes": list(net.sizes),
            "activation": net.activation,
            "cost": net.cost,
            "parameters": int(net.num_parameters),
            "test_accuracy": self.test_accuracy,
            "created": self.created,
            "source_run": self.source_run,
            "shipped": self.shipped,
            "owner": self.owner,
            "shared": self.shared,
            "dataset": self.dataset,
            "class_names": list(self.class_names),
            "deslant": self.deslant,
            "strokes": self.strokes,
        }


@dataclass(frozen=True)
class CachedDreams:
    dreams: Dreams
    seconds: float  # how long computing them took


class ModelNotFound(KeyError):
    pass


class ShippedModelError(Exception):
    pass


class UploadLimitReached(Exception):
    """The uploaded models already fill their allowance (NNP_MAX_UPLOADED_MODELS / _BYTES)."""


@dataclass(frozen=True)
class UploadLimits:
    max_models: int
    max_bytes: int


class NonFiniteModel(Exception):
    """The network holds NaN or infinite weights: it can't be stored or answered as JSON."""


def _created(created: object, path: Path) -> str:
    """When an adopted model was stored: its metadata's `created`, else its file's time."""
    try:
        if isinstance(created, str):
            datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ")
            return created
    except ValueError:
        pass
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_finite(network: Network) -> None:
    for layer, (w, b) in enumerate(zip(network.weights, network.biases, strict=True)):
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise NonFiniteModel(
                f"layer {layer} of the network holds NaN or infinite values (a diverged run?)"
            )


def check_upload_size(network: Network) -> None:
    """Uploads obey the training limit on parameters (the file format allows far more)."""
    count = parameter_count(list(network.sizes))
    if count > MAX_PARAMETERS:
        raise ModelFileError(f"{count:,} parameters is more than the limit of {MAX_PARAMETERS:,}")


def check_shape(network: Network) -> None:
    sizes = list(network.sizes)
    if len(sizes) < 2 or sizes[0] != 784 or sizes[-1] != 10:
        raise ModelFileError(
            f"the network must take 784 inputs and give 10 outputs; this one has sizes {sizes}"
        )


def check_uncompressed_size(data: bytes) -> None:
    """Refuse an archive whose members would unpack to more than MAX_UPLOAD_UNCOMPRESSED,
    reading only its directory (zipfile never inflates a member past its declared size).
    A directory that declares more entries than a model file has is refused from the zip's
    end record, before zipfile parses it."""
    directory = zip_directory(data)
    most = 2 * MAX_LAYERS + 1  # weights and biases of each layer, and the metadata
    if directory is not None and (directory[0] > most or directory[1] > most * MAX_ENTRY_BYTES):
        raise ModelFileError(
            f"the archive declares {directory[0]:,} entries in {directory[1]:,} bytes of "
            f"directory; a model file has at most {most}"
        )
    try:
        with open_zip(data) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except ValueError as exc:
        raise ModelFileError(f"not a valid model file: {exc}") from None
    if declared > MAX_UPLOAD_UNCOMPRESSED:
        raise ModelFileError(
            f"the archive unpacks to {declared:,} bytes, more than the limit of "
            f"{MAX_UPLOAD_UNCOMPRESSED:,}"
        )


def strongest(w: np.ndarray, keep: int) -> np.ndarray:
    """`w` with all but its `keep` largest-magnitude entries set to 0."""
    if w.size <= keep:
        return w
    flat = w.ravel()
    picked = np.argpartition(np.abs(flat), flat.size - keep)[flat.size - keep :]
    out = np.zeros_like(flat)
    out[picked] = flat[picked]
    return out.reshape(w.shape)


def _sparse_row_json(row: np.ndarray) -> str:
    parts = ["0"] * row.size
    for j in np.flatnonzero(row):
        parts[j] = repr(float(row[j]))
    return "[" + ",".join(parts) + "]"


def _matrix_json(w: np.ndarray, *, sparse: bool) -> str:
    """JSON rows of a matrix, one row at a time: each call holds the GIL only briefly, so the
    event loop keeps running while a big network is encoded. `sparse`: "0" for each zero,
    without a Python float per zero."""
    if not sparse:
        return "[" + ",".join(json.dumps(row.astype(np.float64).tolist()) for row in w) + "]"
    zero_row = "[" + ",".join("0" * w.shape[1]) + "]"
    used = np.any(w != 0, axis=1)
    rows = (
        _sparse_row_json(r) if any_used else zero_row for r, any_used in zip(w, used, strict=True)
    )
    return "[" + ",".join(rows) + "]"


def network_json_bytes(network: Network) -> bytes:
    """NetworkJSON of bounded size: every weight up to FULL_NETWORK_WEIGHTS of them; above,
    `downsampled` is true and each layer keeps only its KEPT_WEIGHTS_PER_LAYER strongest
    weights (the rest are 0; the .npz download has them all)."""
    check_finite(network)  # NaN is not JSON
    downsampled = sum(w.size for w in network.weights) > FULL_NETWORK_WEIGHTS
    head = {
        "sizes": list(network.sizes),
        "activation": network.activation,
        "cost": network.cost,
        "biases": [b.astype(np.float64).tolist() for b in network.biases],
        "downsampled": downsampled,
        "kept_per_layer": KEPT_WEIGHTS_PER_LAYER if downsampled else None,
    }
    text = json.dumps(head, separators=(",", ":"), allow_nan=False)
    layers = ",".join(
        _matrix_json(strongest(w, KEPT_WEIGHTS_PER_LAYER), sparse=True)
        if downsampled
        else _matrix_json(w, sparse=False)
        for w in network.weights
    )
    return f'{text[:-1]},"weights":[{layers}]}}'.encode()


class _Classes(TypedDict):
    dataset: str
    class_names: tuple[str, ...]
    deslant: bool
    strokes: bool


def _classes(metadata: JSONObject) -> _Classes:
    """ModelEntry's `dataset`, `class_names` (fashion), `deslant` and `strokes` (handwriting)
    from a model file's metadata."""
    dataset, names = model_classes(metadata)
    return {
        "dataset": dataset,
        "class_names": tuple(names),
        "deslant": expects_deslant(metadata),
        "strokes": expects_strokes(metadata),
    }


class ModelRegistry:
    def __init__(
        self,
        store: Store,
        models_dir: Path,
        shipped_dir: Path,
        names: Callable[[str], str] = str,
    ) -> None:
        self.store = store
        self.names = names  # a learner id's display name (app/store/learners.py)
        self._owned_lock = threading.Lock()  # a learner's model count and the add agree
        self.models_dir = models_dir
        self.shipped_dir = shipped_dir
        self._lock = threading.Lock()
        self._entries: dict[str, ModelEntry] = {}
        self._broken: dict[str, ModelEntry] = {}  # stored models whose file failed to load
        self._network_json: dict[str, bytes] = {}
        self._dreams: dict[str, CachedDreams] = {}
        self.dreams_computed = 0  # how many times dreams were computed (not served from cache)
        self._default: str | None = None
        self._upload_lock = threading.Lock()  # one upload at a time: the limits hold
        self._unservable: set[str] = set()  # ids already logged as not servable
        # Whether an entry's info is servable, by id, with the entry it was checked for: an
        # entry is replaced, never changed, so /healthz's count need not re-encode each info.
        self._checked: dict[str, tuple[ModelEntry, bool]] = {}
        self.orphans_adopted = (0, 0)  # (files, bytes) the last load() adopted
        self.orphans_moved = (0, 0)  # (files, bytes) the last load() moved to models/orphans/

    # -- loading --------------------------------------------------------------------------

    def load(self) -> None:
        """Load the shipped models, then every saved model. A shipped file that fails is logged
        and skipped; a saved one whose file or metadata can't be served is listed as broken
        (with the reason) so it can be deleted. Model files without a row (a save killed
        before its row was written, or a lost database) are adopted when they are valid models
        and moved aside into models/orphans/ when not: a model file is never deleted here."""
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self._remove_leftovers()
        self._adopt_orphans()
        entries = self._load_shipped()
        broken: dict[str, ModelEntry] = {}
        rows = self.store.list_models()
        self._sweep_orphans({row.id for row in rows if isinstance(row.id, str)})
        for row in rows:
            model_id = row.id
            if not isinstance(model_id, str) or not is_valid_id(model_id):
                log.warning("skipping a stored model row with the invalid id %.40r", model_id)
                continue
            if model_id in entries:
                continue
            entry = self._load_saved(check_row(model_id, row))
            (broken if entry.broken else entries)[model_id] = entry
        with self._lock:
            self._entries = entries
            self._broken = broken
            stored = self.store.get_meta(DEFAULT_KEY)
            self._default = stored if stored in entries else self._fallback_default()

    def _load_saved(self, row: Row) -> ModelEntry:
        path = path_for(self.models_dir, row.id)
        network: Network | None = None
        reason = row.problem
        meta: JSONObject = {}
        if reason is None:
            try:
                network, meta = load_model(path)
                check_shape(network)
            except (ModelFileError, OSError, ValueError) as exc:
                network, reason = None, str(exc)
        if reason is not None:
            log.warning("saved model %s is broken: %s", row.id, reason)
        return ModelEntry(
            id=row.id,
            name=row.name,
            network=network,
            path=path,
            shipped=False,
            created=row.created,
            test_accuracy=row.test_accuracy,
            source_run=row.source_run,
            broken=reason,
            owner=row.owner,
            shared=row.shared,
            **_classes(meta),
        )

    def _sweep_orphans(self, ids: set[str]) -> None:
        """Move the model files still without a row (those `_adopt_orphans` could not adopt)
        into models/orphans/, out of the way but not lost."""
        files, size = sweep_orphans(self.models_dir, ids)
        self.orphans_moved = (files, size)
        if files:
            log.warning(
                "moved %d model file(s) without a database row that could not be adopted "
                "(%d bytes) to %s",
                files,
                size,
                self.models_dir / ORPHANS_FOLDER,
            )

    def _remove_leftovers(self) -> None:
        """Delete temporary files an interrupted atomic write left (see app/fileio.py)."""
        remove_leftover_temps(self.models_dir)

    def _adopt_orphans(self) -> None:
        """Give every valid model file without a row (a save killed between its file's rename
        and its row; every file after the database was lost or reset) a row again, from the
        metadata the file carries, checked as an upload is. What can't be adopted is left
        for `_sweep_orphans`."""
        files = size = 0
        for path in orphan_files(self.models_dir, self.store.model_ids()):
            try:
                size += self._adopt(path)
            except (ModelFileError, NonFiniteModel, OSError, ValueError) as exc:
                log.warning("model file %s has no database row and is not adopted: %s", path, exc)
                continue
            files += 1
        self.orphans_adopted = (files, size)
        if files:
            log.warning(
                "adopted %d model file(s) without a database row (%d bytes): saves interrupted "
                "before they were recorded, or a database that was lost or reset",
                files,
                size,
            )

    def _adopt(self, path: Path) -> int:
        """Insert the row of the orphan model file `path` (checked as an upload); its bytes."""
        model_id, size = path.stem, path.stat().st_size
        if (self.shipped_dir / path.name).exists():
            raise ModelFileError(f"a shipped model has the id {model_id!r}")
        if size > MAX_UPLOAD_UNCOMPRESSED:
            raise ModelFileError(f"{size:,} bytes is more than a model file may take")
        data = path.read_bytes()
        check_uncompressed_size(data)
        network, metadata = model_from_bytes(data)
        check_shape(network)
        check_upload_size(network)
        check_finite(network)
        try:
            test_accuracy = accuracy(metadata.get("test_accuracy"))
        except BadMetadata as exc:
            raise ModelFileError(f"metadata: {exc}") from None
        name = str(metadata.get("name") or "").strip()[:MAX_NAME_LENGTH] or f"recovered {model_id}"
        source = metadata.get("source_run")
        info = {
            "test_accuracy": test_accuracy,
            "source_run": source if isinstance(source, str) and is_valid_id(source) else None,
        }
        self.store.add_model(model_id, name, _created(metadata.get("created"), path), info)
        return size

    def _load_shipped(self) -> dict[str, ModelEntry]:
        entries: dict[str, ModelEntry] = {}
        for path in sorted(self.shipped_dir.glob("*.npz")) if self.shipped_dir.is_dir() else []:
            if not is_valid_id(path.stem):
                continue
            try:
                network, meta = load_model(path)
                check_shape(network)
            except (ModelFileError, OSError, ValueError) as exc:
                log.warning("skipping shipped model %s: %s", path.name, exc)
                continue
            entries[path.stem] = ModelEntry(
                id=path.stem,
                name=str(meta.get("name") or path.stem),
                network=network,
                path=path,
                shipped=True,
                created=meta.get("created"),
                test_accuracy=lenient_accuracy(meta.get("test_accuracy")),
                source_run=None,
                **_classes(meta),
            )
        return entries

    def _fallback_default(self) -> str | None:
        if PREFERRED_DEFAULT in self._entries:
            return PREFERRED_DEFAULT
        shipped = [e.id for e in self._entries.values() if e.shipped]
        candidates = shipped or list(self._entries)
        return candidates[0] if candidates else None

    # -- queries --------------------------------------------------------------------------

    @property
    def default_id(self) -> str | None:
        return self._default

    def list(self) -> list[ModelEntry]:
        """Every model, the broken ones last; one whose info can't be answered as JSON is
        left out (with a log line) rather than fail the whole list."""
        with self._lock:
            entries = [*self._entries.values(), *self._broken.values()]
        return [entry for entry in entries if self._servable(entry)]

    def count(self) -> int:
        """How many models list() answers (for /healthz, without building the list)."""
        with self._lock:
            entries = [*self._entries.values(), *self._broken.values()]
        return sum(1 for entry in entries if self._servable(entry))

    def _servable(self, entry: ModelEntry) -> bool:
        checked = self._checked.get(entry.id)
        if checked is not None and checked[0] is entry:
            return checked[1]
        ok = servable(entry.info())
        self._checked[entry.id] = (entry, ok)
        if ok:
            return True
        if entry.id not in self._unservable:
            self._unservable.add(entry.id)
            log.warning("model %s is left out of the list: its info is not valid JSON", entry.id)
        return False

    def lookup(self, model_id: str) -> ModelEntry:
        """The model `model_id`, broken or not (a broken one has no network)."""
        entry = self._broken.get(model_id)
        return entry if entry is not None else self.get(model_id)

    def get(self, model_id: str | None) -> ModelEntry:
        """The model `model_id`, or the default model when it is None."""
        key = self._default if model_id is None else model_id
        entry = self._entries.get(key) if key is not None else None
        if entry is None:
            if model_id is None:
                raise ModelNotFound("there is no model to use: upload one or train and save one")
            raise ModelNotFound(f"no model with id {model_id!r}")
        return entry

    def info(self, entry: ModelEntry) -> JSONObject:
        owner_name = None if entry.owner is None else self.names(entry.owner)
        return {**entry.info(), "owner_name": owner_name, "default": entry.id == self._default}

    def owned_count(self, owner: str) -> int:
        """How many stored models (broken ones too) `owner` has."""
        with self._lock:
            entries = [*self._entries.values(), *self._broken.values()]
        return sum(1 for entry in entries if entry.owner == owner)

    def has_private(self) -> bool:
        """Whether some stored model is not shared (then who may use it must be checked)."""
        return any(not entry.shared for entry in list(self._entries.values()))

    def update(self, model_id: str, *, name: str | None, shared: bool | None) -> ModelEntry:
        """Rename a stored model and/or change whether it is shared. ShippedModelError for a
        shipped one (always shared, named by the package)."""
        entry = self.lookup(model_id)
        if entry.shipped:
            raise ShippedModelError(
                f"{model_id!r} is a shipped model: it can't be renamed and is always shared"
            )
        label = None if name is None else name.strip()[:MAX_NAME_LENGTH]
        if label == "":
            raise BadMetadata("name: a model's name can't be empty")
        if not self.store.update_model(entry.id, name=label, shared=shared):
            raise ModelNotFound(f"no model with id {model_id!r}")
        with self._lock:
            if label is not None:
                entry.name = label
            if shared is not None:
                entry.shared = shared
            self._checked.pop(entry.id, None)  # its info changed: check it again
        return entry

    def network_json_bytes(self, model_id: str) -> bytes:
        """The NetworkJSON of a model, serialised once: models never change after loading."""
        entry = self.get(model_id)
        cached = self._network_json.get(entry.id)
        if cached is None:
            cached = network_json_bytes(entry.net)
            self._network_json[entry.id] = cached
        return cached

    def dreams(self, model_id: str) -> tuple[CachedDreams, bool]:
        """The model's dreams (app/nn/dreams.py) and whether they came from the cache. Computed
        once per model and kept: a model never changes under its id, and a deleted id's dreams
        go with it. Heavy (up to ~50 s for the biggest network): the web layer runs it through
        its bounded pool, one computation per model however many ask at once (no lock here).
        NonFiniteModel when the weights, or the arithmetic on the dreams, hold NaN or
        infinity."""
        entry = self.get(model_id)
        assert entry.network is not None  # get() never answers a broken model
        cached = self._dreams.get(entry.id)
        if cached is not None:
            return cached, True
        check_finite(entry.network)
        started = time.perf_counter()
        self.dreams_computed += 1
        try:
            result = dream(entry.network)
        except DreamOverflow as exc:
            raise NonFiniteModel(
                f"the model's arithmetic overflows to NaN or Infinity on its dreams ({exc})"
            ) from None
        if not np.isfinite(result.probabilities).all():
            raise NonFiniteModel("the model's outputs hold NaN or Infinity on its dreams")
        cached = CachedDreams(result, time.perf_counter() - started)
        if entry.id in self._entries:  # not deleted meanwhile
            self._dreams[entry.id] = cached
        return cached, False

    def cached_dreams(self, model_id: str) -> CachedDreams | None:
        """The model's dreams if they were computed already (ModelNotFound for no such id)."""
        return self._dreams.get(self.get(model_id).id)

    # -- changes --------------------------------------------------------------------------

    def set_default(self, model_id: str) -> None:
        entry = self.get(model_id)
        self.store.set_meta(DEFAULT_KEY, entry.id)
        self._default = entry.id

    def _new_id(self) -> str:
        while True:
            model_id = f"m_{secrets.token_hex(4)}"
            if model_id not in self._entries and model_id not in self._broken:
                return model_id

    def add(
        self,
        network: Network,
        metadata: JSONObject,
        *,
        name: str,
        owner: str = TEACHER_ID,
        max_owned: int | None = None,
    ) -> ModelEntry:
        """Store a model owned by `owner` (not shared until its owner shares it), unless
        `owner` already has `max_owned` models (OwnedLimitReached)."""
        if max_owned is None:
            return self._add(network, metadata, name=name, owner=owner)
        with self._owned_lock:
            have = self.owned_count(owner)
            if have >= max_owned:
                raise OverQuota(
                    f"you already keep {have} models, the most a learner may keep "
                    f"({max_owned}); delete one first"
                )
            return self._add(network, metadata, name=name, owner=owner)

    def _add(self, network: Network, metadata: JSONObject, *, name: str, owner: str) -> ModelEntry:
        """Store a model: weights first (atomically), then the metadata row that points at
        them. Everything is checked first; StorageFull when the disk can't take it."""
        check_shape(network)
        check_finite(network)
        with self._lock:
            model_id = self._new_id()
        created = utc_now()
        source = metadata.get("source_run")
        source_run = source if isinstance(source, str) else None
        test_accuracy = lenient_accuracy(metadata.get("test_accuracy"))
        metadata = {**metadata, "name": name, "created": created, "test_accuracy": test_accuracy}
        data = model_to_bytes(network, metadata)  # ValueError for metadata JSON can't hold
        entry = ModelEntry(
            id=model_id,
            name=name,
            network=network,
            path=path_for(self.models_dir, model_id),
            shipped=False,
            created=created,
            test_accuracy=test_accuracy,
            source_run=source_run,
            owner=owner,
            shared=False,
            **_classes(metadata),
        )
        if not servable(entry.info()):
            raise ValueError(f"the model's metadata can't be answered as JSON: {entry.info()}")
        self.store.ensure_room("store the model")
        try:
            write_atomic(entry.path, data)
        except OSError as exc:
            if is_disk_full(exc):
                raise storage_full("store the model", exc) from exc
            raise
        info = {"test_accuracy": test_accuracy, "source_run": source_run}
        try:
            self.store.add_model(model_id, name, created, info, owner=owner, shared=False)
        except Exception:
            entry.path.unlink(missing_ok=True)
            raise
        with self._lock:
            self._entries[model_id] = entry
        return entry

    def uploads(self) -> tuple[ModelEntry, ...]:
        """The stored models that came from uploads (not shipped, not saved from a run)."""
        return tuple(e for e in self.list() if not e.shipped and e.source_run is None)

    def _check_room(self, limits: UploadLimits) -> None:
        uploads = self.uploads()
        if len(uploads) >= limits.max_models:
            raise UploadLimitReached(
                f"there are already {len(uploads)} uploaded models, the limit "
                f"(NNP_MAX_UPLOADED_MODELS); delete one first"
            )
        # Every byte in the models directory but the models saved from runs: uploads, and
        # any file a killed save or write left there.
        saved = {e.path for e in self.list() if not e.shipped and e.source_run is not None}
        used = bytes_in(self.models_dir, saved)
        if used >= limits.max_bytes:
            raise UploadLimitReached(
                f"uploaded models already take {used:,} bytes, the limit of "
                f"{limits.max_bytes:,} (NNP_MAX_UPLOADED_BYTES); delete one first"
            )

    def add_upload(
        self,
        data: bytes,
        name: str | None,
        filename: str | None,
        limits: UploadLimits,
        *,
        owner: str = TEACHER_ID,
        quotas: Quotas | None = None,
    ) -> ModelEntry:
        """Validate an uploaded .npz (never unpickled) and store it. Raises ModelFileError,
        or UploadLimitReached when the uploads already fill `limits`."""
        check_uncompressed_size(data)
        network, metadata = model_from_bytes(data)
        check_shape(network)
        check_upload_size(network)
        if quotas is not None:
            quotas.check_parameters(parameter_count(list(network.sizes)))
        try:
            accuracy(metadata.get("test_accuracy"))
        except BadMetadata as exc:
            raise ModelFileError(f"metadata: {exc}") from None
        fallback = Path(filename).stem if filename else "uploaded model"
        label = (name or str(metadata.get("name") or "") or fallback).strip()[:MAX_NAME_LENGTH]
        metadata = {k: v for k, v in metadata.items() if k != "source_run"}
        with self._upload_lock:
            self._check_room(limits)
            # Re-serialise rather than keep the uploaded bytes: the stored file then holds only
            # what this program wrote (no extra arrays smuggled in the archive).
            return self.add(
                network,
                metadata,
                name=label or fallback,
                owner=owner,
                max_owned=None if quotas is None else quotas.models,
            )

    def delete(self, model_id: str) -> None:
        entry = self.lookup(model_id)
        if entry.shipped:
            raise ShippedModelError(f"{model_id!r} is a shipped model and can't be deleted")
        # The file first: on a full disk that frees the room the database needs to delete.
        entry.path.unlink(missing_ok=True)
        try:
            self.store.delete_model(entry.id)
        except Exception as exc:
            self._mark_broken(entry, f"its file is deleted but its row is not: {exc}")
            raise
        with self._lock:
            self._entries.pop(entry.id, None)
            self._broken.pop(entry.id, None)
            self._network_json.pop(entry.id, None)
            self._dreams.pop(entry.id, None)
            if self._default == entry.id:
                self._default = self._fallback_default()
                if self._default is not None:
                    self.store.set_meta(DEFAULT_KEY, self._default)

    def _mark_broken(self, entry: ModelEntry, reason: str) -> None:
        broken = ModelEntry(**{**entry.__dict__, "network": None, "broken": reason})
        with self._lock:
            self._entries.pop(entry.id, None)
            self._broken[entry.id] = broken
            self._network_json.pop(entry.id, None)
            self._dreams.pop(entry.id, None)

"""Save and load networks as `.npz` files, treating every file as untrusted input.

File format (an ordinary, uncompressed NumPy `.npz` zip archive):

    W0 … W{L-1}   float32 `(n_l, n_{l-1})`   the weight matrices, input layer first
    b0 … b{L-1}   float32 `(n_l,)`           the bias vectors
    meta          uint8 `(k,)`               UTF-8 JSON: {"format": 1, "sizes": [...],
                                             "activation": ..., "cost": ..., "metadata": {...}}

`metadata` is free-form JSON from the caller (test_accuracy, created, preset, config, ...). A
model trained here also records its `dataset` (a name from app/data/datasets.py's registry) and
the `class_names` of its outputs ("0" … "9" for MNIST, "T-shirt/top" … for Fashion-MNIST);
`model_classes` reads them back, digits for a file without them.

Loading never unpickles (`allow_pickle=False`) and checks, before reading any array data, that the
archive holds exactly the expected members, that their declared sizes are bounded (no zip bombs),
and that each `.npy` header has a float dtype and the shape the architecture implies. Any problem
raises `ModelFileError` with a one-line message.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from app.fileio import write_atomic
from app.jsontypes import JSONObject
from app.nn.config import parameter_count
from app.nn.network import Network
from app.nn.vocab import ACTIVATIONS, COSTS

FORMAT_VERSION = 1
MAX_LAYERS = 16  # weight layers
MAX_PARAMETERS = 20_000_000  # 80 MB of float32, far above any network this app trains
MAX_META_BYTES = 1_000_000
MAX_FILE_BYTES = 8 * MAX_PARAMETERS + MAX_META_BYTES + 1_000_000
MNIST_INPUT, MNIST_OUTPUT = 784, 10

_ALLOWED_DTYPES = (np.dtype("<f4"), np.dtype(">f4"), np.dtype("<f8"), np.dtype(">f8"))

# What a hostile or damaged file can make the parsing code raise; all become ModelFileError.
_PARSE_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    EOFError,
    OSError,
    NotImplementedError,
    struct.error,
    zlib.error,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
)


class ModelFileError(ValueError):
    """The model file is malformed, hostile, or not a model of the expected shape."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))  # always exactly one line


# ---------------------------------------------------------------------------------- writing


def model_to_bytes(network: Network, metadata: JSONObject | None = None) -> bytes:
    """The `.npz` file content for `network` and the JSON-able `metadata` dict."""
    meta = {**network.config(), "format": FORMAT_VERSION, "metadata": dict(metadata or {})}
    try:
        text = json.dumps(meta, allow_nan=False, default=_json_default, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metadata is not JSON-serialisable: {exc}") from None
    arrays: dict[str, np.ndarray] = {"meta": np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    for layer, (w, b) in enumerate(zip(network.weights, network.biases, strict=True)):
        arrays[f"W{layer}"] = np.asarray(w, dtype=np.float32)
        arrays[f"b{layer}"] = np.asarray(b, dtype=np.float32)
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def trained_metadata(
    config: Mapping[str, object],
    preset: str | None,
    epochs: float,
    test_accuracy: float | None,
    **more: Any,  # Any: more of the file's free-form JSON (source_run, seconds, ...)
) -> JSONObject:
    """The metadata of a model trained here: its config, the preset it started from, the
    epochs it trained and its test accuracy, the dataset it trained on and the names of its
    outputs, and `more` (e.g. source_run, seconds, created)."""
    from app.data.datasets import class_names_of  # late: app.data.datasets imports app.nn

    dataset = str(config.get("dataset") or "mnist")
    # handwriting (issue 17 §5): the input transform it was trained for (app/data/deslant.py).
    # strokes (issue 17 §5): app/data/strokes.py's stroke-width normalisation.
    transform = {key: True for key in ("deslant", "strokes") if config.get(key) is True}
    return {
        "config": dict(config),
        "preset": preset,
        "epochs": epochs,
        "test_accuracy": test_accuracy,
        "dataset": dataset,
        "class_names": list(class_names_of(dataset)),
        **transform,
        **more,
    }


MAX_CLASS_NAME = 40  # characters of one output's name in a model file


def model_classes(metadata: JSONObject, outputs: int = MNIST_OUTPUT) -> tuple[str, list[str]]:
    """(dataset, class names) a model file's metadata records: the dataset if the registry
    knows it, else "mnist"; the names if they are `outputs` short strings (an uploaded file may
    say anything), else the dataset's (digits for every model from before datasets)."""
    from app.data.datasets import DATASETS, DIGITS, class_names_of  # late: see trained_metadata

    dataset = metadata.get("dataset")
    if dataset not in DATASETS:  # none recorded, or a name this version does not know
        dataset = "mnist"
    names = metadata.get("class_names")
    if (
        isinstance(names, list)
        and len(names) == outputs
        and all(isinstance(n, str) and 0 < len(n) <= MAX_CLASS_NAME for n in names)
    ):
        return dataset, list(names)
    fallback = class_names_of(dataset)
    return dataset, list(fallback if len(fallback) == outputs else DIGITS[:outputs])


def save_model(
    path: str | os.PathLike[str], network: Network, metadata: JSONObject | None = None
) -> None:
    """Write the model to `path` atomically: readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same directory, are fsynced, then renamed over `path`.
    """
    write_atomic(Path(path), model_to_bytes(network, metadata))


def _json_default(value: object) -> object:
    """Let metadata hold NumPy scalars and arrays (e.g. an accuracy computed with NumPy)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


# ---------------------------------------------------------------------------------- reading


def load_model(
    path: str | os.PathLike[str],
    *,
    input_size: int | None = MNIST_INPUT,
    output_size: int | None = MNIST_OUTPUT,
) -> tuple[Network, JSONObject]:
    """Read a model file; returns (network, metadata). See `model_from_bytes` for the checks."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ModelFileError(f"{path.name}: file too large ({size} bytes)")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"model file not found: {path}") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {path}: {exc.strerror or exc}") from None
    return model_from_bytes(data, input_size=input_size, output_size=output_size)


def model_from_bytes(
    data: bytes,
    *,
    input_size: int | None = MNIST_INPUT,
    output_size: int | None = MNIST_OUTPUT,
) -> tuple[Network, JSONObject]:
    """Parse `.npz` bytes into (network, metadata), or raise ModelFileError.

    By default the network must map 784 inputs to 10 outputs (an MNIST model); pass
    `input_size=None` / `output_size=None` to accept any sizes.
    """
    if len(data) > MAX_FILE_BYTES:
        raise ModelFileError(f"model file too large ({len(data)} bytes)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _read_archive(archive, input_size, output_size)
    except ModelFileError:
        raise
    except _PARSE_ERRORS as exc:
        reason = str(exc) or type(exc).__name__
        raise ModelFileError(f"not a valid model file: {reason}") from None


def _read_archive(
    archive: zipfile.ZipFile, input_size: int | None, output_size: int | None
) -> tuple[Network, JSONObject]:
    members = {info.filename: info for info in archive.infolist()}
    if "meta.npy" not in members:
        raise ModelFileError("not a model file: no 'meta' entry")
    if len(members) > 2 * MAX_LAYERS + 1:
        raise ModelFileError(f"too many entries in the archive ({len(members)})")
    declared = sum(info.file_size for info in members.values())
    if declared > MAX_FILE_BYTES:
        raise ModelFileError(f"archive declares {declared} bytes of content: too large")

    meta = _read_meta(archive, members["meta.npy"])
    sizes, activation, cost = meta["sizes"], meta["activation"], meta["cost"]
    if input_size is not None and sizes[0] != input_size:
        raise ModelFileError(f"model takes {sizes[0]} inputs, expected {input_size}")
    if output_size is not None and sizes[-1] != output_size:
        raise ModelFileError(f"model has {sizes[-1]} outputs, expected {output_size}")

    n_layers = len(sizes) - 1
    expected: dict[str, tuple[int, ...]] = {
        f"W{i}.npy": (sizes[i + 1], sizes[i]) for i in range(n_layers)
    }
    expected |= {f"b{i}.npy": (sizes[i + 1],) for i in range(n_layers)}
    expected["meta.npy"] = (-1,)
    if set(members) != set(expected):
        missing = sorted(n.removesuffix(".npy") for n in set(expected) - set(members))
        extra = sorted(n.removesuffix(".npy") for n in set(members) - set(expected))
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unexpected {', '.join(extra)}" if extra else "",
            )
            if part
        )
        raise ModelFileError(f"entries don't match the architecture {sizes}: {detail}")

    weights, biases = [], []
    for i in range(n_layers):
        weights.append(_read_float_array(archive, members[f"W{i}.npy"], expected[f"W{i}.npy"]))
        biases.append(_read_float_array(archive, members[f"b{i}.npy"], expected[f"b{i}.npy"]))
    network = Network.from_parameters(weights, biases, activation, cost)
    return network, meta["metadata"]


Header = tuple[tuple[int, ...], np.dtype[Any]]  # Any: a header may declare any dtype


def _read_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Header:
    """(shape, dtype) from an `.npy` member's header, without reading its data."""
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ModelFileError(f"{info.filename}: unsupported .npy version {version}")
    return shape, dtype


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    with archive.open(info) as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def _read_meta(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> JSONObject:
    """The validated JSON header: sizes, activation, cost, metadata."""
    shape, dtype = _read_header(archive, info)
    if dtype != np.uint8 or len(shape) != 1 or shape[0] > MAX_META_BYTES:
        raise ModelFileError(f"'meta' must be at most {MAX_META_BYTES} uint8 bytes")
    raw = _read_member(archive, info).tobytes()
    try:
        meta = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"'meta' is not UTF-8 JSON: {exc}") from None
    except RecursionError:  # e.g. [[[[…]]]] nested 100 000 deep
        raise ModelFileError("'meta' is nested too deeply") from None
    if not isinstance(meta, dict):
        raise ModelFileError("'meta' must be a JSON object")
    _check_writable(meta)
    if meta.get("format") != FORMAT_VERSION:
        raise ModelFileError(f"unsupported model format {meta.get('format')!r}")

    sizes = meta.get("sizes")
    if (
        not isinstance(sizes, list)
        or not 2 <= len(sizes) <= MAX_LAYERS + 1
        or not all(type(n) is int and 1 <= n <= 100_000 for n in sizes)
    ):
        raise ModelFileError(
            f"'sizes' must be 2..{MAX_LAYERS + 1} integers in 1..100000, got {sizes!r:.80}"
        )
    n_params = parameter_count(sizes)
    if n_params > MAX_PARAMETERS:
        raise ModelFileError(f"model has {n_params} parameters, limit {MAX_PARAMETERS}")
    if meta.get("activation") not in ACTIVATIONS:
        raise ModelFileError(f"unknown activation {meta.get('activation')!r:.40}")
    if meta.get("cost") not in COSTS:
        raise ModelFileError(f"unknown cost {meta.get('cost')!r:.40}")
    if not isinstance(meta.get("metadata", {}), dict):
        raise ModelFileError("'metadata' must be a JSON object")
    meta.setdefault("metadata", {})
    return meta


def _check_writable(meta: JSONObject) -> None:
    """Refuse what loads but can't be written back as JSON: 1e400 (parsed as inf, at any depth)
    or a lone surrogate such as "\\ud800" (not encodable as UTF-8)."""
    try:
        json.dumps(meta, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ModelFileError("'meta' holds a string that is not valid Unicode") from None
    except ValueError:
        raise ModelFileError("'meta' holds a number out of range (e.g. 1e400)") from None
    except RecursionError:
        raise ModelFileError("'meta' is nested too deeply") from None


def _reject_constant(name: str) -> NoReturn:
    raise ModelFileError(f"'meta' contains {name}, which is not valid JSON")


def _read_float_array(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple[int, ...]
) -> np.ndarray:
    """The member as float32, after checking its header's dtype and shape, then finiteness."""
    name = info.filename.removesuffix(".npy")
    got_shape, dtype = _read_header(archive, info)
    if dtype not in _ALLOWED_DTYPES:
        raise ModelFileError(f"{name} has dtype {dtype}, expected float32")
    if tuple(got_shape) != shape:
        raise ModelFileError(f"{name} has shape {tuple(got_shape)}, expected {shape}")
    # The declared uncompressed size must match the header: a longer member is padding or a bomb.
    if info.file_size > math.prod(shape) * dtype.itemsize + 65_536:
        raise ModelFileError(f"{name}: entry larger than its array")
    array = _read_member(archive, info)
    if array.shape != shape:
        raise ModelFileError(f"{name} has shape {array.shape}, expected {shape}")
    # Also refuses float64 values beyond float32's range, which the cast would turn into inf.
    if not (np.isfinite(array).all() and np.abs(array).max() <= np.finfo(np.float32).max):
        raise ModelFileError(f"{name} contains NaN or infinite values")
    return array.astype(np.float32)

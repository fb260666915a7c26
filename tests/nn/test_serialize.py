"""Model files: round trips, atomic saves, and hostile or damaged files."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from app.nn import ModelFileError, Network, load_model, model_from_bytes, model_to_bytes, save_model

SIZES = [784, 16, 16, 10]


@pytest.fixture
def net() -> Network:
    return Network(SIZES, "sigmoid", "quadratic", seed=0)


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _hostile_npz(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz as an attacker would write it: object arrays stored as a pickle after the .npy
    header (numpy's own layout for dtype object), built by hand so nothing here pickles
    through numpy."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in arrays.items():
            npy = io.BytesIO()
            if array.dtype == object:
                header = {"descr": "|O", "fortran_order": False, "shape": array.shape}
                np.lib.format.write_array_header_1_0(npy, header)
                pickle.dump(array, npy, protocol=3)
            else:
                np.save(npy, array)
            archive.writestr(f"{name}.npy", npy.getvalue())
    return buffer.getvalue()


def _meta(**fields) -> np.ndarray:
    meta = {"format": 1, "sizes": SIZES, "activation": "sigmoid", "cost": "quadratic"}
    meta.update(fields)
    return np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


def _arrays(net: Network) -> dict[str, np.ndarray]:
    arrays = {"meta": _meta()}
    for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        arrays[f"W{i}"], arrays[f"b{i}"] = w.copy(), b.copy()
    return arrays


def _assert_rejected(data: bytes, match: str) -> ModelFileError:
    with pytest.raises(ModelFileError, match=match) as info:
        model_from_bytes(data)
    assert "\n" not in str(info.value)
    return info.value


def test_save_load_round_trip(tmp_path: Path, net: Network) -> None:
    x = np.random.default_rng(0).random((20, 784), dtype=np.float32)
    metadata = {"test_accuracy": np.float64(0.9612), "preset": "3b1b", "epochs": 3, "note": "π"}
    path = tmp_path / "model.npz"
    save_model(path, net, metadata)
    loaded, loaded_meta = load_model(path)
    assert loaded.config() == net.config()
    np.testing.assert_array_equal(loaded.predict_proba(x), net.predict_proba(x))
    assert loaded_meta == {"test_accuracy": 0.9612, "preset": "3b1b", "epochs": 3, "note": "π"}
    # Plain NumPy can read the file too, without pickle.
    with np.load(path, allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["W2"], net.weights[2])


def test_bytes_round_trip_of_any_architecture() -> None:
    net = Network([5, 7, 3], "relu", "cross_entropy", seed=2)
    loaded, meta = model_from_bytes(model_to_bytes(net), input_size=None, output_size=None)
    assert meta == {}
    assert loaded.config() == {"sizes": [5, 7, 3], "activation": "relu", "cost": "cross_entropy"}
    np.testing.assert_array_equal(loaded.params, net.params)


def test_default_load_requires_an_mnist_network() -> None:
    data = model_to_bytes(Network([5, 7, 10], seed=0))
    _assert_rejected(data, "5 inputs, expected 784")
    data = model_to_bytes(Network([784, 3], seed=0))
    _assert_rejected(data, "3 outputs, expected 10")


def test_save_replaces_atomically_and_leaves_no_temp_file(tmp_path: Path, net: Network) -> None:
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")
    save_model(path, net, {"v": 2})
    assert load_model(path)[1] == {"v": 2}
    assert os.listdir(tmp_path) == ["m.npz"]


def test_failed_save_keeps_the_old_file(tmp_path: Path, net: Network) -> None:
    path = tmp_path / "m.npz"
    save_model(path, net, {"v": 1})
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        save_model(path, net, {"v": object()})
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        save_model(path, net, {"v": float("nan")})
    assert load_model(path)[1] == {"v": 1}
    assert os.listdir(tmp_path) == ["m.npz"]


def test_missing_file_is_a_model_file_error(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "nope.npz")


@pytest.mark.parametrize("data", [b"", b"hello, world", b"PK\x03\x04garbage"])
def test_not_a_zip(data: bytes) -> None:
    _assert_rejected(data, "not a valid model file")


def test_truncated_files(net: Network) -> None:
    data = model_to_bytes(net)
    for cut in (len(data) // 3, len(data) // 2, len(data) - 30):
        with pytest.raises(ModelFileError):
            model_from_bytes(data[:cut])


def test_corrupted_bytes_inside_an_array_are_detected(net: Network) -> None:
    data = bytearray(model_to_bytes(net))
    start = data.index(b"W1.npy") + 200  # somewhere inside W1's float data
    data[start : start + 8] = b"\xff" * 8
    with pytest.raises(ModelFileError):  # the zip CRC check, or NaN weights
        model_from_bytes(bytes(data))


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))  # would run on unpickling


@pytest.mark.parametrize("key", ["W0", "meta"])
def test_pickled_object_arrays_are_refused_without_running_them(
    tmp_path: Path, net: Network, key: str
) -> None:
    marker = tmp_path / "pwned"
    arrays = _arrays(net)
    arrays[key] = np.array([_Exploit(marker)], dtype=object)
    data = _hostile_npz(arrays)
    _assert_rejected(data, "dtype|uint8")
    assert not marker.exists()


def test_wrong_shapes_are_refused(net: Network) -> None:
    arrays = _arrays(net)
    arrays["W1"] = np.zeros((16, 17), np.float32)  # doesn't chain with W0 (16, 784)
    _assert_rejected(_npz(arrays), r"W1 has shape \(16, 17\), expected \(16, 16\)")
    arrays = _arrays(net)
    arrays["b2"] = np.zeros((10, 1), np.float32)
    _assert_rejected(_npz(arrays), "b2 has shape")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_refused(net: Network, bad: float) -> None:
    arrays = _arrays(net)
    arrays["W1"][3, 4] = bad
    _assert_rejected(_npz(arrays), "W1 contains NaN or infinite")


def test_float64_overflowing_float32_is_refused(net: Network) -> None:
    arrays = _arrays(net)
    arrays["b0"] = np.full(16, 1e300)
    _assert_rejected(_npz(arrays), "b0 contains NaN or infinite")


def test_float64_weights_are_accepted_as_float32(net: Network) -> None:
    arrays = _arrays(net)
    arrays["W0"] = arrays["W0"].astype(np.float64)
    loaded, _ = model_from_bytes(_npz(arrays))
    assert loaded.weights[0].dtype == np.float32
    np.testing.assert_array_equal(loaded.params, net.params)


@pytest.mark.parametrize("dtype", [np.int32, np.complex64, np.float16, "U4"])
def test_wrong_dtypes_are_refused(net: Network, dtype) -> None:
    arrays = _arrays(net)
    arrays["W0"] = np.zeros((16, 784), dtype)
    _assert_rejected(_npz(arrays), "W0 has dtype")


def test_missing_and_extra_entries_are_refused(net: Network) -> None:
    arrays = _arrays(net)
    del arrays["b1"]
    _assert_rejected(_npz(arrays), "missing b1")
    arrays = _arrays(net)
    arrays["W9"] = np.zeros(3, np.float32)
    _assert_rejected(_npz(arrays), "unexpected W9")
    arrays = _arrays(net)
    del arrays["meta"]
    _assert_rejected(_npz(arrays), "no 'meta' entry")


@pytest.mark.parametrize(
    ("meta", "match"),
    [
        (np.frombuffer(b"\xff\xfe{", np.uint8), "not UTF-8 JSON"),
        (np.frombuffer(b"[1, 2]", np.uint8), "JSON object"),
        (np.frombuffer(b'{"format": NaN}', np.uint8), "NaN"),
        (np.frombuffer(b"[" * 200_000, np.uint8), "nested too deeply"),
        (np.zeros(4, np.float32), "uint8"),
        (_meta(format=2), "unsupported model format"),
        (_meta(sizes=[784]), "'sizes' must be"),
        (_meta(sizes=[784, -16, 10]), "'sizes' must be"),
        (_meta(sizes=[784, 16.0, 10]), "'sizes' must be"),
        (_meta(sizes=[784, *[16] * 20, 10]), "'sizes' must be"),
        (_meta(sizes=[784, 100_000, 100_000, 10]), "parameters, limit"),
        (_meta(activation="__import__('os')"), "unknown activation"),
        (_meta(cost=None), "unknown cost"),
        (_meta(metadata=[1]), "'metadata' must be a JSON object"),
    ],
)
def test_bad_meta_is_refused(net: Network, meta: np.ndarray, match: str) -> None:
    arrays = _arrays(net)
    arrays["meta"] = meta
    _assert_rejected(_npz(arrays), match)


def test_zip_bomb_member_is_refused_before_decompressing(net: Network) -> None:
    """A member that inflates far beyond its array's size (a few KB of deflate -> 4 MB)."""
    buffer = io.BytesIO()
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (16, 784)}
    )
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in _arrays(net).items():
            if name != "W0":
                archive.writestr(f"{name}.npy", _npy(array))
        archive.writestr("W0.npy", header.getvalue() + bytes(4_000_000))
    assert len(buffer.getvalue()) < 100_000
    _assert_rejected(buffer.getvalue(), "W0: entry larger than its array")


def test_huge_header_shape_is_refused_before_allocating(net: Network) -> None:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10**12, 784)}
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in _arrays(net).items():
            data = header.getvalue() if name == "W0" else _npy(array)
            archive.writestr(f"{name}.npy", data)
    _assert_rejected(buffer.getvalue(), r"W0 has shape \(1000000000000, 784\)")


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


def _raw_meta_npz(net: Network, metadata_json: str) -> bytes:
    """A model whose metadata is this JSON text, verbatim (json.dumps can't write 1e400)."""
    meta = {"format": 1, "sizes": SIZES, "activation": "sigmoid", "cost": "quadratic"}
    text = json.dumps(meta)[:-1] + f', "metadata": {metadata_json}}}'
    arrays = _arrays(net)
    arrays["meta"] = np.frombuffer(text.encode(), dtype=np.uint8)
    return _npz(arrays)


@pytest.mark.parametrize(
    "metadata",
    ['{"a": 1e400}', '{"a": [{"b": [-1e400]}]}', '{"config": {"lr": 1E999}}'],
)
def test_metadata_numbers_out_of_range_are_refused_at_any_depth(
    net: Network, metadata: str
) -> None:
    _assert_rejected(_raw_meta_npz(net, metadata), "out of range")


@pytest.mark.parametrize("metadata", ['{"name": "\\ud800"}', '{"a": [{"b": "x\\udfff"}]}'])
def test_metadata_lone_surrogates_are_refused(net: Network, metadata: str) -> None:
    _assert_rejected(_raw_meta_npz(net, metadata), "not valid Unicode")


def test_metadata_with_a_valid_surrogate_pair_loads(net: Network) -> None:
    _, metadata = model_from_bytes(_raw_meta_npz(net, '{"name": "\\ud83d\\ude00"}'))
    assert metadata["name"] == "\U0001f600"

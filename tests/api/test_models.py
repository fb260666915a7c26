"""/api/models: listing, details, weights, network JSON, upload, delete, default."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
from fastapi.testclient import TestClient

from app.nn.network import Network
from app.nn.serialize import model_from_bytes, model_to_bytes
from app.settings import Settings


def upload(client: TestClient, net: Network, name: str | None = None):
    data = {"name": name} if name else {}
    return client.post(
        "/api/models", files={"file": ("net.npz", model_to_bytes(net, {}))}, data=data
    )


def test_list_and_get(client: TestClient) -> None:
    body = client.get("/api/models").json()
    assert body["default"] == "accurate"
    by_id = {m["id"]: m for m in body["models"]}
    assert set(by_id) == {"accurate", "3b1b"}
    acc = by_id["accurate"]
    assert acc["shipped"] and acc["default"] and acc["sizes"] == [784, 32, 10]
    assert acc["parameters"] == 784 * 32 + 32 + 32 * 10 + 10
    assert acc["test_accuracy"] == 0.5 and acc["activation"] == "relu"
    assert client.get("/api/models/3b1b").json()["sizes"] == [784, 16, 16, 10]
    r = client.get("/api/models/missing")
    assert r.status_code == 404 and "missing" in r.json()["detail"]
    assert client.get("/api/models/..%2F..%2Fetc").status_code in (404, 422)
    assert client.get("/api/models/bad.id").status_code == 422


def test_weights_and_network_round_trip(client: TestClient) -> None:
    r = client.get("/api/models/3b1b/weights")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    net, _ = model_from_bytes(r.content)
    network = client.get("/api/models/3b1b/network").json()
    assert network["sizes"] == [784, 16, 16, 10]
    assert [np.array(w).shape for w in network["weights"]] == [(16, 784), (16, 16), (10, 16)]
    assert np.allclose(network["weights"][1], net.weights[1])
    assert np.allclose(network["biases"][2], net.biases[2])
    assert client.get("/api/models/nope/weights").status_code == 404
    assert client.get("/api/models/nope/network").status_code == 404


def test_upload_then_delete(client: TestClient) -> None:
    net = Network([784, 12, 10], "tanh", "cross_entropy", seed=5)
    r = upload(client, net, "my net")
    assert r.status_code == 201
    info = r.json()
    assert info["name"] == "my net" and not info["shipped"] and info["sizes"] == [784, 12, 10]
    assert info["created"]
    got, _ = model_from_bytes(client.get(f"/api/models/{info['id']}/weights").content)
    assert np.array_equal(got.weights[0], net.weights[0])
    assert client.delete(f"/api/models/{info['id']}").status_code == 204
    assert client.get(f"/api/models/{info['id']}").status_code == 404
    assert client.delete(f"/api/models/{info['id']}").status_code == 404


def test_bad_uploads_change_nothing(client: TestClient) -> None:
    before = client.get("/api/models").json()
    hostile = io.BytesIO()
    with zipfile.ZipFile(hostile, "w") as z:
        z.writestr("meta.npy", b"\x93NUMPY" + b"\x00" * 50)
    cases = [
        b"not a zip",
        hostile.getvalue(),
        b"PK\x03\x04broken",
        model_to_bytes(Network([784, 8, 5], seed=0), {}),  # not 10 outputs
        b"",
    ]
    for data in cases:
        r = client.post("/api/models", files={"file": ("x.npz", data)})
        assert r.status_code == 422 and r.json()["detail"].startswith("file:"), data[:10]
    assert client.post("/api/models", data={"name": "no file"}).status_code == 422
    assert client.get("/api/models").json() == before


def test_upload_over_the_model_limit_is_413(make_client, settings: Settings) -> None:
    client = make_client(settings.model_copy(update={"max_model_bytes": 50_000}))
    r = upload(client, Network([784, 64, 10], seed=0))  # ~200 KB
    assert r.status_code == 413
    assert len(client.get("/api/models").json()["models"]) == 2


def test_shipped_models_cannot_be_deleted(client: TestClient) -> None:
    r = client.delete("/api/models/accurate")
    assert r.status_code == 409 and "shipped" in r.json()["detail"]
    assert client.get("/api/models/accurate").status_code == 200


def test_default_model(client: TestClient) -> None:
    r = client.put("/api/models/default", json={"id": "3b1b"})
    assert r.status_code == 200 and r.json() == {"default": "3b1b"}
    assert client.get("/api/models").json()["default"] == "3b1b"
    pixels = [0.0] * 784
    pixels[400] = pixels[401] = pixels[430] = 1.0
    assert client.post("/api/predict", json={"pixels": pixels}).json()["model"] == "3b1b"
    assert client.put("/api/models/default", json={"id": "missing"}).status_code == 404
    assert client.put("/api/models/default", json={"id": "../x"}).status_code == 422
    assert client.put("/api/models/default", json={}).status_code == 422
    assert client.get("/api/models").json()["default"] == "3b1b"
    # A deleted default falls back to the shipped one.
    mine = upload(client, Network([784, 8, 10], seed=1)).json()["id"]
    client.put("/api/models/default", json={"id": mine})
    client.delete(f"/api/models/{mine}")
    assert client.get("/api/models").json()["default"] == "accurate"


def test_models_survive_a_restart(make_client, settings: Settings) -> None:
    first = make_client(settings)
    mine = upload(first, Network([784, 8, 10], seed=1), "kept").json()
    first.put("/api/models/default", json={"id": mine["id"]})
    first.__exit__(None, None, None)
    second = make_client(settings)
    body = second.get("/api/models").json()
    assert body["default"] == mine["id"]
    assert {m["id"]: m["name"] for m in body["models"]}[mine["id"]] == "kept"


def _with_raw_metadata(net: Network, metadata_json: str) -> bytes:
    """A model file whose metadata is this JSON text verbatim (json.dumps can't write 1e400)."""
    meta = {"format": 1, "sizes": list(net.sizes), "activation": net.activation, "cost": net.cost}
    text = json.dumps(meta)[:-1] + f', "metadata": {metadata_json}}}'
    arrays = {"meta": np.frombuffer(text.encode(), dtype=np.uint8)}
    for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        arrays[f"W{i}"], arrays[f"b{i}"] = w, b
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_uploads_with_unwritable_metadata_are_422(client: TestClient) -> None:
    net = Network([784, 4, 10], "relu", "cross_entropy", seed=0)
    for metadata in ('{"a": 1e400}', '{"a": {"b": [[1, -1e400]]}}', '{"name": "\\ud800"}'):
        r = client.post("/api/models", files={"file": ("m.npz", _with_raw_metadata(net, metadata))})
        assert r.status_code == 422 and r.json()["detail"].startswith("file: "), (metadata, r.text)
    assert len(client.get("/api/models").json()["models"]) == 2  # only the shipped ones


def test_uploads_with_non_finite_weights_are_422(client: TestClient) -> None:
    for bad in (np.nan, np.inf, -np.inf):
        net = Network([784, 4, 10], seed=0)
        net.weights[1][2, 3] = bad
        r = upload(client, net)
        assert r.status_code == 422 and "NaN or infinite" in r.json()["detail"]


def test_uploads_over_the_training_parameter_limit_are_422(client: TestClient) -> None:
    r = upload(client, Network([784, 3200, 10], seed=0))  # 2,544,010 > 2,500,000
    assert r.status_code == 422 and "more than the limit of 2,500,000" in r.json()["detail"]
    assert len(client.get("/api/models").json()["models"]) == 2


def test_a_broken_stored_model_is_listed_and_deletable(make_client, settings: Settings) -> None:
    client = make_client(settings)
    model = upload(client, Network([784, 4, 10], seed=0), "soon broken").json()
    client.__exit__(None, None, None)
    (settings.data_dir / "models" / f"{model['id']}.npz").write_bytes(b"not a zip")
    client = make_client(settings)
    listed = {m["id"]: m for m in client.get("/api/models").json()["models"]}
    broken = listed[model["id"]]
    assert broken["broken"] is True and broken["name"] == "soon broken"
    assert "not a valid model file" in broken["reason"]
    assert listed["accurate"]["broken"] is False and listed["accurate"]["reason"] is None
    assert client.get(f"/api/models/{model['id']}").json()["broken"] is True
    pixels = [0.0] * 784
    r = client.post("/api/predict", json={"pixels": pixels, "model": model["id"]})
    assert r.status_code == 404
    assert client.delete(f"/api/models/{model['id']}").status_code == 204
    assert model["id"] not in {m["id"] for m in client.get("/api/models").json()["models"]}
    assert not (settings.data_dir / "models" / f"{model['id']}.npz").exists()


def test_upload_count_limit_is_a_setting(make_client, settings: Settings) -> None:
    client = make_client(settings.model_copy(update={"max_uploaded_models": 1}))
    assert upload(client, Network([784, 4, 10], seed=0)).status_code == 201
    r = upload(client, Network([784, 4, 10], seed=1))
    assert r.status_code == 409 and "NNP_MAX_UPLOADED_MODELS" in r.json()["detail"]
    assert len(client.get("/api/models").json()["models"]) == 3  # two shipped + one upload


def test_upload_bytes_limit_is_a_setting(make_client, settings: Settings) -> None:
    client = make_client(settings.model_copy(update={"max_uploaded_bytes": 1}))
    assert upload(client, Network([784, 4, 10], seed=0)).status_code == 201
    r = upload(client, Network([784, 4, 10], seed=1))
    assert r.status_code == 409 and "NNP_MAX_UPLOADED_BYTES" in r.json()["detail"]


def test_a_zip_bomb_upload_is_422_and_stores_nothing(client: TestClient) -> None:
    buffer = io.BytesIO()
    base = zipfile.ZipFile(io.BytesIO(model_to_bytes(Network([784, 4, 10], seed=0), {})))
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in base.infolist():
            if info.filename != "b0.npy":
                archive.writestr(info.filename, base.read(info))
        archive.writestr("b0.npy", b"\0" * 50_000_000)  # b0 as 50 MB of zeros (~50 KB zipped)
    r = client.post("/api/models", files={"file": ("bomb.npz", buffer.getvalue())})
    assert r.status_code == 422 and "unpacks to" in r.json()["detail"], r.text
    assert len(client.get("/api/models").json()["models"]) == 2


def test_a_crafted_zip_directory_is_422_not_500(client: TestClient) -> None:
    """The review's fuzzing: a directory entry whose "version needed to extract" zipfile
    doesn't know made it raise NotImplementedError, answered as a 500."""
    data = bytearray(model_to_bytes(Network([784, 4, 10], seed=0), {}))
    at = data.find(b"PK\x01\x02")  # the first central-directory entry
    data[at + 6] = 255  # version needed to extract: 25.5
    r = client.post("/api/models", files={"file": ("odd.npz", bytes(data))})
    assert r.status_code == 422 and "not a valid model file" in r.json()["detail"], r.text
    assert len(client.get("/api/models").json()["models"]) == 2


def test_a_zip_declaring_thousands_of_entries_is_refused_before_its_directory_is_parsed(
    client: TestClient,
) -> None:
    """A model file has at most 33 members; an upload whose directory declares thousands is
    refused from the zip's end record (zipfile would parse all of it first: ~5 s for a 23 MB
    directory, review D1b)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(5000):
            archive.writestr(f"m{i}.npy", b"")
    r = client.post("/api/models", files={"file": ("many.npz", buffer.getvalue())})
    assert r.status_code == 422 and "declares 5,000 entries" in r.json()["detail"], r.text
    data = bytearray(model_to_bytes(Network([784, 4, 10], seed=0), {}))
    end = data.rindex(b"PK\x05\x06")
    data[end + 8 : end + 12] = struct.pack("<HH", 60_000, 60_000)  # entries on disk, in all
    r = client.post("/api/models", files={"file": ("lies.npz", bytes(data))})
    assert r.status_code == 422 and "declares 60,000 entries" in r.json()["detail"], r.text
    assert len(client.get("/api/models").json()["models"]) == 2


def test_a_big_models_network_is_downsampled_and_its_weights_download_whole(
    client: TestClient,
) -> None:
    net = Network([784, 1000, 10], "relu", "cross_entropy", seed=4)  # 794,000 weights
    model_id = upload(client, net).json()["id"]
    r = client.get(f"/api/models/{model_id}/network")
    assert r.status_code == 200 and len(r.content) < 2_500_000
    answer = r.json()
    assert answer["downsampled"] is True and answer["kept_per_layer"] == 2000
    first = np.array(answer["weights"][0], np.float32)
    assert first.shape == (1000, 784) and (first != 0).sum() == 2000
    stored, _ = model_from_bytes(client.get(f"/api/models/{model_id}/weights").content)
    np.testing.assert_array_equal(stored.weights[0], net.weights[0])  # the .npz has them all
    small = client.get("/api/models/accurate/network").json()
    assert small["downsampled"] is False and small["kept_per_layer"] is None

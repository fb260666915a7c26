"""Fashion-MNIST end to end against a local mirror (issue 17 §3): a run on the dataset
downloads it with progress, trains in a real worker, and its evaluation, digits and saved model
carry the class names. The mirror serves generated files in Fashion-MNIST's format; their
checksums reach the server the way an operator's would, through the NNP_DATASETS setting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from data.fakes import FakeDataset, FolderMirror, make_fake_dataset, serve_folder
from fastapi.testclient import TestClient

from app.nn.network import Network
from app.nn.serialize import model_to_bytes
from app.settings import Settings

from .api_support import wait_for

FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
DIGITS = [str(d) for d in range(10)]
FASHION_RUN = {
    "preset": "3b1b",
    "dataset": "fashion_mnist",
    "activation": "relu",
    "cost": "cross_entropy",
    "epochs": 2,
    "validation_size": 100,
    "learning_rate": 0.01,
}


@pytest.fixture(scope="module")
def fake() -> FakeDataset:
    return make_fake_dataset(train=1000, test=100)


@pytest.fixture
def fashion_mirror(fake: FakeDataset, tmp_path: Path) -> Iterator[FolderMirror]:
    # Slow enough (about a second) for the download to report progress more than once.
    with serve_folder(fake.write(tmp_path / "mirror"), chunk=16 * 1024, pause=0.02) as mirror:
        yield mirror


def test_a_fashion_run_downloads_trains_and_names_its_classes(
    make_client, settings: Settings, fake: FakeDataset, fashion_mirror: FolderMirror, tmp_path
) -> None:
    source = {"mirrors": [fashion_mirror.url], "checksums": fake.gz_checksums}
    client: TestClient = make_client(
        settings.model_copy(
            update={
                "cache_dir": tmp_path / "fresh-cache",
                "mnist_download": True,
                "datasets": {"fashion_mnist": source},
            }
        )
    )
    created = client.post("/api/runs", json=FASHION_RUN)
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]
    assert created.json()["config"]["dataset"] == "fashion_mnist"
    downloads: list[tuple[int, int]] = []
    with client.websocket_connect(f"/api/runs/{run_id}/events") as ws:
        while True:
            message = ws.receive_json()
            if message["type"] == "download":
                downloads.append((message["done"], message["total"]))
            if message["type"] == "status" and message["status"] in ("finished", "failed"):
                assert message["status"] == "finished", message
                break
    # Download progress to the end: every byte of the four .gz files, once each.
    assert len(downloads) >= 2 and [d for d, _ in downloads] == sorted(d for d, _ in downloads)
    assert downloads[-1] == (sum(map(len, fake.gz.values())),) * 2
    assert sorted(fashion_mirror.requests) == sorted(f"/{name}.gz" for name in fake.gz)

    info = client.get(f"/api/runs/{run_id}").json()
    last = info["history"]["evaluations"][-1]
    assert last["class_names"] == FASHION_CLASSES
    assert np.sum(last["confusion"]) == 100  # the generated test set, not MNIST's 10,000
    assert last["test_accuracy"] > 0.5  # chance is 0.1: it read the labels of the images
    # The gallery shows the dataset's own test images.
    digits = client.get(f"/api/runs/{run_id}/digits", params={"limit": 3}).json()["digits"]
    test_images = fake.arrays["t10k-images-idx3-ubyte"]
    for d in digits:
        expected = np.round(test_images[d["index"]].reshape(-1) / 255.0, 4)
        np.testing.assert_allclose(d["pixels"], expected)
        assert d["label"] == fake.arrays["t10k-labels-idx1-ubyte"][d["index"]]

    # Saved, the model records its dataset and class names; MNIST models keep digits.
    model = client.post(f"/api/runs/{run_id}/save", json={"name": "clothes"}).json()
    assert model["dataset"] == "fashion_mnist" and model["class_names"] == FASHION_CLASSES
    listed = {m["id"]: m for m in client.get("/api/models").json()["models"]}
    assert listed[model["id"]]["class_names"] == FASHION_CLASSES
    assert listed["accurate"]["dataset"] == "mnist" and listed["accurate"]["class_names"] == DIGITS
    # Drawing still predicts with it: ten outputs, the answer an index into its class names.
    pred = client.post("/api/predict", json={"pixels": digits[0]["pixels"], "model": model["id"]})
    assert pred.status_code == 200 and len(pred.json()["probabilities"]) == 10
    assert pred.json()["digit"] == digits[0]["predicted"]


def fashion_from_folder(settings: Settings, fake: FakeDataset, tmp_path: Path) -> Settings:
    """`settings` with Fashion-MNIST's files (the generated ones) in a local folder."""
    folder = fake.write(tmp_path / "fashion")
    source = {"dir": str(folder), "checksums": fake.gz_checksums}
    return settings.model_copy(update={"datasets": {"fashion_mnist": source}})


def train_and_save(client: TestClient) -> str:
    """A one-epoch Fashion-MNIST run, finished and saved; the saved model's id."""
    run_id = client.post("/api/runs", json={**FASHION_RUN, "epochs": 1}).json()["id"]
    wait_for(lambda: client.get(f"/api/runs/{run_id}").json()["status"] == "finished", 60)
    return str(client.post(f"/api/runs/{run_id}/save").json()["id"])


def test_the_saved_model_keeps_its_class_names_across_a_restart(
    make_client, settings: Settings, fake: FakeDataset, tmp_path: Path
) -> None:
    local = fashion_from_folder(settings, fake, tmp_path)
    client: TestClient = make_client(local)
    model_id = train_and_save(client)
    again: TestClient = make_client(local)  # a second app on the same data folder
    model = again.get(f"/api/models/{model_id}").json()
    assert model["dataset"] == "fashion_mnist" and model["class_names"] == FASHION_CLASSES


def test_vocabulary_lists_the_datasets_and_a_bad_one_is_422(client: TestClient) -> None:
    vocab = client.get("/api/vocabulary").json()
    assert vocab["choices"]["dataset"] == ["mnist", "fashion_mnist"]
    by_name = {d["name"]: d for d in vocab["datasets"]}
    assert by_name["mnist"] == {"name": "mnist", "title": "MNIST", "class_names": DIGITS}
    assert by_name["fashion_mnist"]["class_names"] == FASHION_CLASSES
    r = client.post("/api/runs", json={"dataset": "kmnist"})
    assert r.status_code == 422 and "dataset" in r.text
    assert client.get("/api/runs").json()["runs"] == []


def test_a_fashion_models_card_json_and_test_images_name_its_classes(
    make_client, settings: Settings, fake: FakeDataset, tmp_path: Path
) -> None:
    """Issue 17 §3's gaps: a Fashion-MNIST model's card says what it labels (its classes, not
    digits), its JSON export carries the class names, and the page's random test image comes
    from the dataset asked for (the selected model's), with its class name; MNIST stays the
    default and keeps its digits."""
    client: TestClient = make_client(fashion_from_folder(settings, fake, tmp_path))
    model_id = train_and_save(client)

    def export(model: str, fmt: str) -> httpx.Response:
        r = client.get(f"/api/models/{model}/export", params={"format": fmt})
        assert r.status_code == 200, r.text
        return r

    card = export(model_id, "card").text
    use = card.split("## Use", 1)[1]
    assert "Fashion-MNIST" in use and all(name in use for name in FASHION_CLASSES)
    assert "handwritten digit" not in use and "0–9" not in use
    assert "as Fashion-MNIST" in card and "as MNIST" not in card
    assert "Fashion-MNIST test accuracy" in card
    mnist_card = export("accurate", "card").text
    assert "Reads one handwritten digit (0–9)" in mnist_card.split("## Use", 1)[1]

    body = export(model_id, "json").json()
    assert body["dataset"] == "fashion_mnist" and body["class_names"] == FASHION_CLASSES
    assert "Fashion-MNIST" in body["input"]
    mnist = export("accurate", "json").json()
    assert mnist["dataset"] == "mnist" and mnist["class_names"] == DIGITS

    test_images = fake.arrays["t10k-images-idx3-ubyte"]
    test_labels = fake.arrays["t10k-labels-idx1-ubyte"]
    seen = set()
    for _ in range(5):
        d = client.get("/api/digits/random", params={"dataset": "fashion_mnist"}).json()
        assert 0 <= d["index"] < len(test_labels)  # the generated 100, not MNIST's 10,000
        assert d["dataset"] == "fashion_mnist" and d["label"] == test_labels[d["index"]]
        assert d["class_name"] == FASHION_CLASSES[d["label"]]
        expected = np.round(test_images[d["index"]].reshape(-1) / 255.0, 4)
        np.testing.assert_allclose(d["pixels"], expected)
        seen.add(d["index"])
    assert len(seen) > 1  # at random
    third = client.get("/api/digits/3", params={"dataset": "fashion_mnist"}).json()
    assert third["class_name"] == FASHION_CLASSES[test_labels[3]]
    r = client.get("/api/digits/100", params={"dataset": "fashion_mnist"})
    assert r.status_code == 404 and "the test set has 100" in r.json()["detail"]
    digit = client.get("/api/digits/random").json()  # MNIST by default
    assert digit["dataset"] == "mnist" and digit["class_name"] == str(digit["label"])
    r = client.get("/api/digits/random", params={"dataset": "kmnist"})
    assert r.status_code == 422 and "dataset" in r.text


def test_a_fashion_models_onnx_export_names_its_classes(client: TestClient) -> None:
    onnx = pytest.importorskip("onnx")
    network = Network([784, 8, 10], "relu", "cross_entropy", seed=3)
    metadata = {"dataset": "fashion_mnist", "class_names": FASHION_CLASSES}
    r = client.post(
        "/api/models",
        files={"file": ("clothes.npz", model_to_bytes(network, metadata))},
        data={"name": "clothes"},
    )
    assert r.status_code == 201, r.text
    model_id = r.json()["id"]
    for model, dataset, names in [
        (model_id, "fashion_mnist", FASHION_CLASSES),
        ("3b1b", "mnist", DIGITS),
    ]:
        data = client.get(f"/api/models/{model}/export", params={"format": "onnx"}).content
        props = {p.key: p.value for p in onnx.load_from_string(data).metadata_props}
        assert props["dataset"] == dataset and json.loads(props["class_names"]) == names

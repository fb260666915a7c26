"""Fashion-MNIST end to end against a local mirror (issue 17 §3): a run on the dataset
downloads it with progress, trains in a real worker, and its evaluation, digits and saved model
carry the class names. The mirror serves generated files in Fashion-MNIST's format; their
checksums reach the server the way an operator's would, through the NNP_DATASETS setting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from data.fakes import FakeDataset, FolderMirror, make_fake_dataset, serve_folder
from fastapi.testclient import TestClient

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


def test_the_saved_model_keeps_its_class_names_across_a_restart(
    make_client, settings: Settings, fake: FakeDataset, tmp_path: Path
) -> None:
    folder = fake.write(tmp_path / "fashion")
    local = settings.model_copy(
        update={"datasets": {"fashion_mnist": {"dir": str(folder), "checksums": fake.gz_checksums}}}
    )
    client: TestClient = make_client(local)
    run_id = client.post("/api/runs", json={**FASHION_RUN, "epochs": 1}).json()["id"]
    wait_for(lambda: client.get(f"/api/runs/{run_id}").json()["status"] == "finished", 60)
    model_id = client.post(f"/api/runs/{run_id}/save").json()["id"]
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

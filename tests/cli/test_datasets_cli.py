"""`nn-playground download|train|evaluate` on Fashion-MNIST (issue 17 §3), in process, against a
local mirror of generated files: the registry entry is pointed at it, with the generated files'
checksums (never the real files)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from data.fakes import FakeDataset, FolderMirror, make_fake_dataset, serve_folder

from app.cli import main
from app.data import datasets
from app.nn.serialize import load_model

FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip


@pytest.fixture(scope="module")
def fake() -> FakeDataset:
    return make_fake_dataset(train=600, test=100)


@pytest.fixture
def mirror(
    fake: FakeDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FolderMirror]:
    monkeypatch.delenv("NNP_FASHION_MNIST_DIR", raising=False)
    with serve_folder(fake.write(tmp_path / "mirror")) as served:
        local = datasets.FASHION_MNIST.with_override(
            {"mirrors": [served.url], "checksums": fake.gz_checksums}
        )
        monkeypatch.setitem(datasets.DATASETS, "fashion_mnist", local)
        yield served


def test_download_train_and_evaluate_fashion(
    mirror: FolderMirror, fake: FakeDataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    assert main(["download", "--dataset", "fashion_mnist", "--cache-dir", str(cache)]) == 0
    assert f"Fashion-MNIST verified in {cache / 'fashion-mnist'}" in capsys.readouterr().err
    assert sorted(p.name for p in (cache / "fashion-mnist").iterdir()) == sorted(
        f"{n}.gz" for n in fake.gz
    )
    # Already there: nothing downloaded again.
    before = len(mirror.requests)
    assert main(["download", "--dataset", "fashion_mnist", "--cache-dir", str(cache)]) == 0
    assert len(mirror.requests) == before

    model = tmp_path / "clothes.npz"
    args = ["train", "--dataset", "fashion_mnist", "--epochs", "1", "--validation-size", "100"]
    assert main([*args, "--cache-dir", str(cache), "--save", str(model)]) == 0
    _, metadata = load_model(model)
    assert metadata["dataset"] == "fashion_mnist"
    assert metadata["class_names"] == FASHION_CLASSES
    capsys.readouterr()
    # Evaluated on its own dataset's test set (100 generated images, not MNIST's 10,000).
    assert main(["evaluate", str(model), "--json", "--cache-dir", str(cache)]) == 0
    result = capsys.readouterr().out
    confusion = np.array(json.loads(result)["confusion"])
    assert confusion.sum() == 100
    # Its model card names its dataset.
    assert main(["export", str(model), "--format", "card", "-o", "-"]) == 0
    card = capsys.readouterr().out
    assert "Training data: Fashion-MNIST" in card and "Fashion-MNIST test accuracy" in card


def test_an_unknown_dataset_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["download", "--dataset", "kmnist"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'kmnist'" in err and len(err.strip().splitlines()) == 1

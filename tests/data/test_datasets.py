"""The dataset registry and Fashion-MNIST's download: a real HTTP server on 127.0.0.1 serving
generated IDX files, with the generated files' checksums injected into the registry entry (as
NNP_DATASETS does), never the real files."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import pytest

from app.data.datasets import DATASETS, FASHION_MNIST, MNIST_DATASET, Dataset, get_dataset
from app.data.idx import write_idx
from app.data.mnist import (
    MNIST_FILES,
    DataSource,
    MNISTUnavailable,
    download_dataset,
    load_test_set,
    load_training_data,
)
from app.nn.vocab import DATASET_NAMES

from .fakes import FakeDataset, MirrorServer, make_fake_dataset

# Published values, copied from their sources (not from the code under test): MNIST's
# decompressed SHA-256s as this app has always checked them, and Fashion-MNIST's .gz SHA-256s
# from TensorFlow Datasets' url_checksums/fashion_mnist.txt.
PUBLISHED_MNIST = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
PUBLISHED_FASHION_GZ = {
    "train-images-idx3-ubyte": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip


@pytest.fixture
def fake() -> FakeDataset:
    return make_fake_dataset(train=64, test=16)


@pytest.fixture(autouse=True)
def no_env_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing may be found through $NNP_MNIST_DIR / $NNP_FASHION_MNIST_DIR."""
    for ds in DATASETS.values():
        monkeypatch.delenv(ds.dir_env, raising=False)


def _fashion(fake: FakeDataset, *mirrors: str) -> Dataset:
    """Fashion-MNIST's entry pointed at local mirrors, with the generated files' checksums."""
    return FASHION_MNIST.with_override({"mirrors": list(mirrors), "checksums": fake.gz_checksums})


# ---- the registry ---------------------------------------------------------------------------


def test_every_dataset_name_has_one_entry_with_ten_class_names() -> None:
    assert list(DATASETS) == list(DATASET_NAMES) == ["mnist", "fashion_mnist"]
    for name, ds in DATASETS.items():
        assert ds.name == name and get_dataset(name) is ds
        assert len(ds.class_names) == 10 and len(set(ds.class_names)) == 10
        assert set(ds.checksums) == set(ds.files) and len(ds.files) == 4
        assert ds.mirrors and all(m.endswith("/") for m in ds.mirrors)
    with pytest.raises(ValueError, match="unknown dataset 'kmnist'"):
        get_dataset("kmnist")


def test_mnist_keeps_its_checksums_mirrors_and_folder() -> None:
    assert dict(MNIST_DATASET.checksums) == PUBLISHED_MNIST == MNIST_FILES
    assert MNIST_DATASET.checksummed == "decompressed"
    assert MNIST_DATASET.class_names == tuple(str(d) for d in range(10))
    assert MNIST_DATASET.cache_in(Path("/c")) == Path("/c")  # where it always was
    assert MNIST_DATASET.dir_env == "NNP_MNIST_DIR"


def test_fashion_mnist_is_checked_by_its_published_gz_checksums() -> None:
    assert dict(FASHION_MNIST.checksums) == PUBLISHED_FASHION_GZ
    assert FASHION_MNIST.checksummed == "compressed"
    assert list(FASHION_MNIST.class_names) == FASHION_CLASSES
    assert "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/" in FASHION_MNIST.mirrors
    # Its files have MNIST's names: they must not land in MNIST's folder.
    assert FASHION_MNIST.cache_in(Path("/c")) == Path("/c/fashion-mnist")
    assert FASHION_MNIST.dir_env == "NNP_FASHION_MNIST_DIR"


# ---- downloading ----------------------------------------------------------------------------


def test_download_falls_back_across_mirrors_with_progress(
    tmp_path: Path, mirror_server: MirrorServer, fake: FakeDataset
) -> None:
    missing = mirror_server.url("missing")  # 404 for everything
    # Valid gzip of a wrong payload: only the checksum can tell.
    wrong = {n: gzip.compress(write_idx(a[::-1].copy()), mtime=0) for n, a in fake.arrays.items()}
    corrupt = mirror_server.serve("corrupt", wrong)
    good = mirror_server.serve("good", fake.gz)
    calls: list[tuple[int, int]] = []

    folder = download_dataset(
        _fashion(fake, missing, corrupt, good), tmp_path, progress=lambda *c: calls.append(c)
    )

    assert folder == tmp_path
    fake.assert_downloaded(tmp_path)
    for name in fake.arrays:
        assert mirror_server.tried(name) == ["missing", "corrupt", "good"]
    dones = [done for done, _ in calls]
    assert dones == sorted(dones) and all(done <= total for done, total in calls)
    received = sum(map(len, wrong.values())) + sum(map(len, fake.gz.values()))
    assert calls[-1] == (received, received)


def test_a_checksum_failure_on_every_mirror_names_them_and_leaves_nothing(
    tmp_path: Path, mirror_server: MirrorServer, fake: FakeDataset
) -> None:
    garbage = {n: zlib.compress(b"x") + b for n, b in fake.gz.items()}
    bad = mirror_server.serve("bad", garbage)
    # The same payload compressed differently: right data, but not the published .gz file.
    other = {n: gzip.compress(write_idx(a), 1, mtime=1) for n, a in fake.arrays.items()}
    recompressed = mirror_server.serve("recompressed", other)

    with pytest.raises(MNISTUnavailable) as caught:
        download_dataset(_fashion(fake, bad, recompressed), tmp_path)

    message = str(caught.value)
    assert "\n" not in message and "Fashion-MNIST" in message
    assert bad in message and recompressed in message and "SHA-256 mismatch" in message
    assert "NNP_FASHION_MNIST_DIR" in message and ".gz as published" in message
    assert list(tmp_path.iterdir()) == []  # no .part files or half files left behind


def test_loads_through_a_data_source_into_its_own_cache_folder(
    tmp_path: Path, mirror_server: MirrorServer, fake: FakeDataset
) -> None:
    good = mirror_server.serve("good", fake.gz)
    cache = tmp_path / "cache"
    source = DataSource(
        None, cache, datasets={"fashion_mnist": {"mirrors": [good], "checksums": fake.gz_checksums}}
    )
    data = load_training_data(source, dataset="fashion_mnist")
    np.testing.assert_array_equal(data.train_images, fake.arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(data.test_labels, fake.arrays["t10k-labels-idx1-ubyte"])
    assert sorted(p.name for p in (cache / "fashion-mnist").iterdir()) == sorted(
        f"{n}.gz" for n in fake.gz
    )
    assert [p.name for p in cache.iterdir()] == ["fashion-mnist"]  # MNIST's place untouched
    before = len(mirror_server.requests)
    _, labels = load_test_set(source, download=False, dataset="fashion_mnist")
    np.testing.assert_array_equal(labels, fake.arrays["t10k-labels-idx1-ubyte"])
    assert len(mirror_server.requests) == before  # from disk


def test_an_uncompressed_copy_cannot_be_verified_so_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeDataset
) -> None:
    folder = tmp_path / "fashion"
    folder.mkdir()
    for name, array in fake.arrays.items():
        write_idx(array, folder / name)  # uncompressed: no published checksum to check
    monkeypatch.setenv("NNP_FASHION_MNIST_DIR", str(folder))
    source = DataSource(
        None, tmp_path / "cache", download=False,
        datasets={"fashion_mnist": {"checksums": fake.gz_checksums}},
    )  # fmt: skip
    with pytest.raises(MNISTUnavailable, match=r"\.gz as published"):
        load_training_data(source, dataset="fashion_mnist")
    fake.write(folder)  # the .gz files beside them are found and verified
    data = load_training_data(source, dataset="fashion_mnist")
    np.testing.assert_array_equal(data.train_labels, fake.arrays["train-labels-idx1-ubyte"])


def test_a_wrong_gz_on_disk_is_refused_by_its_checksum(tmp_path: Path, fake: FakeDataset) -> None:
    folder = fake.write(tmp_path / "fashion")
    name = "t10k-labels-idx1-ubyte"
    (folder / f"{name}.gz").write_bytes(gzip.compress(write_idx(np.zeros(16, np.uint8))))
    source = DataSource(
        None, tmp_path / "cache", download=False,
        datasets={"fashion_mnist": {"dir": str(folder), "checksums": fake.gz_checksums}},
    )  # fmt: skip
    with pytest.raises(MNISTUnavailable, match=f"not the published {name}.gz"):
        load_test_set(source, dataset="fashion_mnist")


def test_the_datasets_setting_refuses_unknown_names_and_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pydantic import ValidationError

    from app.settings import Settings

    monkeypatch.setenv("NNP_DATASETS", '{"fashion_mnist": {"dir": "/data/fashion"}}')
    source = Settings().data_source()
    _, folder, cache = source.resolve("fashion_mnist")
    assert folder == Path("/data/fashion") and cache.name == "fashion-mnist"
    for bad in ('{"kmnist": {}}', '{"fashion_mnist": {"mirror": ["http://x/"]}}'):
        monkeypatch.setenv("NNP_DATASETS", bad)
        with pytest.raises(ValidationError):
            Settings()

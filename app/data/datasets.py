"""The dataset registry: every dataset a run can train on, in MNIST's format.

Each entry says what a dataset is (name, title, class names), which files make it (the four
IDX files of MNIST's layout: 28×28 uint8 images and uint8 labels, 60,000 for training and
10,000 for testing), how to check them (SHA-256 checksums) and where to get them (mirrors, each
serving ``<file>.gz``). app/data/mnist.py finds, downloads, verifies and loads any entry the
same way; the runs choose one by name (``TrainConfig.dataset``, whose words are
``app.nn.vocab.DatasetName``).

Adding KMNIST or EMNIST-digits later is one entry in ``DATASETS`` (plus its word in the
``DatasetName`` Literal, which the API, CLI, page and the registry check at import derive from):
KMNIST's files have MNIST's names and layout; EMNIST-digits' have their own names (the entry's
``train_files`` / ``test_files``) and 240,000 training images. (EMNIST stores each image
transposed; showing its images upright would want a flag on the entry, not a new loader.)

**Checksums.** A checksum is either of the *decompressed* file (``checksummed="decompressed"``,
MNIST: the same whatever gzip settings a mirror used, and an uncompressed copy on disk can be
checked too) or, where only those are published, of the *compressed* ``.gz`` file exactly as the
publisher serves it (``checksummed="compressed"``). Fashion-MNIST publishes MD5s of its ``.gz``
files (its README, torchvision) and TensorFlow Datasets lists their SHA-256 and sizes
(tensorflow_datasets/url_checksums/fashion_mnist.txt); nobody publishes SHA-256s of the
decompressed files, and we never invent one. So a Fashion-MNIST file is verified as the
published ``.gz`` (by SHA-256, then its IDX content is parsed and checked like MNIST's), and only
the ``.gz`` form is accepted on disk: an uncompressed copy could not be verified.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Literal

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict  # pydantic reads it (the NNP_DATASETS setting)

from app.nn.vocab import DATASET_NAMES, DatasetName

__all__ = [
    "DATASETS",
    "DIGITS",
    "FASHION_MNIST",
    "MNIST_DATASET",
    "TEST_FILES",
    "TRAIN_FILES",
    "Checksummed",
    "Dataset",
    "DatasetOverride",
    "class_names_of",
    "get_dataset",
]

TRAIN_FILES: Final = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST_FILES: Final = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

Checksummed = Literal["decompressed", "compressed"]  # what a checksum was computed over


@dataclass(frozen=True)
class Dataset:
    """One registry entry. ``checksums`` maps each file's name (without ``.gz``) to its
    SHA-256, over what ``checksummed`` says. ``folder``: where its downloads go, under the
    cache folder ("" = the cache folder itself, MNIST's place since before the registry)."""

    name: DatasetName
    title: str
    class_names: tuple[str, ...]
    checksums: Mapping[str, str]
    mirrors: tuple[str, ...]
    checksummed: Checksummed = "decompressed"
    folder: str = ""
    train_files: tuple[str, str] = TRAIN_FILES
    test_files: tuple[str, str] = TEST_FILES

    @property
    def files(self) -> tuple[str, ...]:
        return (*self.train_files, *self.test_files)

    @property
    def dir_env(self) -> str:
        """The variable naming a folder that already holds it: NNP_MNIST_DIR,
        NNP_FASHION_MNIST_DIR, ..."""
        return f"NNP_{self.name.upper()}_DIR"

    def env_dir(self) -> Path | None:
        value = os.environ.get(self.dir_env)
        return Path(value) if value else None

    def cache_in(self, cache_dir: Path) -> Path:
        """Where its downloads go under the app's cache folder."""
        return cache_dir / self.folder if self.folder else cache_dir

    def with_override(self, override: DatasetOverride | None) -> Dataset:
        """This entry with a configured source's mirrors and checksums (NNP_DATASETS)."""
        if not override:
            return self
        changes: dict[str, object] = {}
        if override.get("mirrors"):
            changes["mirrors"] = tuple(override["mirrors"])
        if override.get("checksums"):
            changes["checksums"] = {**self.checksums, **override["checksums"]}
        return replace(self, **changes)  # type: ignore[arg-type]


@with_config(ConfigDict(extra="forbid"))
class DatasetOverride(TypedDict, total=False):
    """Where a dataset comes from on this server, when not from the registry's defaults
    (the NNP_DATASETS setting, by dataset name): a folder that holds its files, the mirrors to
    download from, and the SHA-256s of a private copy's files (over what the entry's
    ``checksummed`` says) when they are not the published ones."""

    dir: str
    mirrors: list[str]
    checksums: dict[str, str]


DIGITS: Final = tuple(str(d) for d in range(10))

# SHA-256 of each *decompressed* MNIST file: the same whatever gzip settings a mirror used.
_MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# SHA-256 of each published Fashion-MNIST *.gz* file, from TensorFlow Datasets'
# url_checksums/fashion_mnist.txt (sizes 26421880, 29515, 4422102 and 5148 bytes). The
# Fashion-MNIST README (and torchvision) give the MD5s of the same files:
# 8d4fb7e6c68d591d4c3dfef9ec88bf0d, 25c81989df183df01b3e8a0aad5dffbe,
# bef4ecab320f06d8554ea6380940ec79, bb300cfdad3c16e7a12a480ee83cd310.
_FASHION_GZ_SHA256 = {
    "train-images-idx3-ubyte": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}

# github.com/zalandoresearch/fashion-mnist, "Labels": label 0 … 9.
_FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

MNIST_DATASET: Final = Dataset(
    name="mnist",
    title="MNIST",
    class_names=DIGITS,
    checksums=_MNIST_SHA256,
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
)

FASHION_MNIST: Final = Dataset(
    name="fashion_mnist",
    title="Fashion-MNIST",
    class_names=_FASHION_CLASSES,
    checksums=_FASHION_GZ_SHA256,
    checksummed="compressed",
    mirrors=(
        # Zalando's S3 bucket over TLS, the repository's own copy, then the bucket's website
        # endpoint (HTTP only: the checksum still guards the content).
        "https://fashion-mnist.s3.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    folder="fashion-mnist",  # its files have MNIST's names: they need a folder of their own
)

DATASETS: Final[dict[DatasetName, Dataset]] = {d.name: d for d in (MNIST_DATASET, FASHION_MNIST)}
if set(DATASETS) != set(DATASET_NAMES):  # a word in the Literal without an entry, or the reverse
    raise RuntimeError(f"the registry {sorted(DATASETS)} != DatasetName {sorted(DATASET_NAMES)}")


def get_dataset(name: str) -> Dataset:
    """The registry entry `name`; ValueError naming the known ones otherwise."""
    try:
        return DATASETS[name]  # type: ignore[index]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)})") from None


def class_names_of(name: str) -> tuple[str, ...]:
    """The class names of dataset `name` (digits for an unknown one: every model before the
    registry was an MNIST model)."""
    entry = DATASETS.get(name)  # type: ignore[call-overload]
    return entry.class_names if entry is not None else DIGITS

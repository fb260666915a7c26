"""The test-digit gallery: which test digits a run got wrong (or right), with their pixels;
and one test image of a dataset, by index or at random (the page's "Random test digit").

A run's last evaluation leaves its prediction and confidence for every test digit
(`Run.predictions`, `Run.confidence`); the gallery ranks them against the test labels.
"""

from __future__ import annotations

import secrets

import numpy as np
from typing_extensions import TypedDict  # pydantic reads it as a response schema

from app.data.datasets import class_names_of
from app.data.mnist import DataSource, MNISTUnavailable, load_test_set, pixel_values
from app.nn.vocab import DatasetName

MAX_MISTAKES = 24  # the mistakes an evaluation keeps


class Mistake(TypedDict):
    index: int
    label: int
    predicted: int
    confidence: float


class RunDigit(Mistake):
    pixels: list[float]  # 784 values in 0..1


def ranked_digits(
    predictions: np.ndarray,
    confidence: np.ndarray,
    labels: np.ndarray,
    *,
    label: int | None = None,
    predicted: int | None = None,
    limit: int = MAX_MISTAKES,
) -> np.ndarray:
    """Indices of the test digits with this `label` and/or `predicted` digit, most confident
    first, at most `limit`; with neither, the most confident mistakes."""
    mask = np.ones(len(labels), bool)
    if label is not None:
        mask &= labels == label
    if predicted is not None:
        mask &= predictions == predicted
    if label is None and predicted is None:
        mask &= predictions != labels
    chosen = np.flatnonzero(mask)
    order: np.ndarray = chosen[np.argsort(-confidence[chosen], kind="stable")][:limit]
    return order


def top_mistakes(
    predictions: np.ndarray, confidence: np.ndarray, labels: np.ndarray, limit: int = MAX_MISTAKES
) -> list[Mistake]:
    order = ranked_digits(predictions, confidence, labels, limit=limit)
    return [
        {
            "index": int(i),
            "label": int(labels[i]),
            "predicted": int(predictions[i]),
            "confidence": round(float(confidence[i]), 5),
        }
        for i in order
    ]


class DatasetDigit(TypedDict):
    index: int
    label: int
    class_name: str  # the label's name in its dataset ("7", "Sneaker")
    dataset: DatasetName
    pixels: list[float]


class DigitOutOfRange(LookupError):
    """A test image index the dataset's test set does not have."""


def dataset_digit(data: DataSource, dataset: DatasetName, index: int | None) -> DatasetDigit:
    """Test image `index` of `dataset` (None: one at random), with its label and the label's
    class name. The test set is downloaded on first use (MNISTUnavailable when it can't be)
    and cached per process by app.data; DigitOutOfRange for an index it does not have."""
    images, labels = load_test_set(data, dataset=dataset)
    if index is None:
        index = secrets.randbelow(len(labels))
    if not 0 <= index < len(labels):
        raise DigitOutOfRange(
            f"digit index {index} is out of range: the test set has {len(labels)}"
        )
    label = int(labels[index])
    return {
        "index": index,
        "label": label,
        "class_name": class_names_of(dataset)[label],
        "dataset": dataset,
        "pixels": pixel_values(images[index]),
    }


class Gallery:
    """The test set of the runs' data source, for their mistakes and digit galleries."""

    def __init__(self, data: DataSource) -> None:
        self.data = data
        self._labels: dict[DatasetName, np.ndarray] = {}

    def labels(self, dataset: DatasetName = "mnist") -> np.ndarray | None:
        """The test labels of `dataset` (MNIST or another registry entry), for the mistakes of
        an evaluation (the worker has just loaded them, so they are on disk); None when they
        are not."""
        if dataset not in self._labels:
            try:
                _, self._labels[dataset] = load_test_set(self.data, download=False, dataset=dataset)
            except MNISTUnavailable:
                return None
        return self._labels[dataset]

    def digits(
        self,
        predictions: np.ndarray | None,
        confidence: np.ndarray | None,
        *,
        label: int | None,
        predicted: int | None,
        limit: int,
        dataset: DatasetName = "mnist",
    ) -> list[RunDigit]:
        """Test digits of an evaluation's `predictions` and `confidence` (see `ranked_digits`),
        each with its label, prediction, confidence and pixels; [] before the first evaluation.
        MNISTUnavailable when the test set can be neither found nor downloaded."""
        if predictions is None or confidence is None:
            return []
        images, labels = load_test_set(self.data, dataset=dataset)
        if len(predictions) != len(labels):
            return []
        chosen = ranked_digits(
            predictions, confidence, labels, label=label, predicted=predicted, limit=limit
        )
        return [
            {
                "index": int(i),
                "label": int(labels[i]),
                "predicted": int(predictions[i]),
                "confidence": float(confidence[i]),
                "pixels": pixel_values(images[i]),
            }
            for i in chosen
        ]

"""/api/digits: test images of a dataset (MNIST by default, or the selected model's, e.g.
Fashion-MNIST), for trying the network on real data (app/runs/gallery.py `dataset_digit`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from app.api.deps import SettingsDep
from app.api.errors import responses
from app.api.schemas import Digit
from app.nn.vocab import DATASET_NAMES, DatasetName
from app.runs.gallery import DigitOutOfRange, dataset_digit

router = APIRouter(prefix="/api/digits", tags=["digits"])

DatasetQuery = Annotated[
    DatasetName,
    Query(description=f"whose test set: one of {', '.join(DATASET_NAMES)} (a model's `dataset`)"),
]


# Plain `def` handlers: loading a test set may read or download files, so they run in the
# threadpool.
@router.get("/random", response_model=Digit, responses=responses(422, unavailable=["mnist"]))
def random_digit(settings: SettingsDep, dataset: DatasetQuery = "mnist") -> Digit:
    """A test image at random, with its label and the label's class name."""
    return Digit.model_validate(dataset_digit(settings.data_source(), dataset, None))


@router.get("/{index}", response_model=Digit, responses=responses(404, 422, unavailable=["mnist"]))
def digit(index: int, settings: SettingsDep, dataset: DatasetQuery = "mnist") -> Digit:
    """Test image `index` of the dataset (0 first)."""
    try:
        return Digit.model_validate(dataset_digit(settings.data_source(), dataset, index))
    except DigitOutOfRange as exc:
        raise HTTPException(404, str(exc)) from None

"""/api/digits: MNIST test digits, for trying the network on real data."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, HTTPException

from app.api.deps import SettingsDep
from app.api.errors import responses
from app.api.schemas import Digit
from app.data.mnist import load_test_set, pixel_values
from app.settings import Settings

router = APIRouter(prefix="/api/digits", tags=["digits"])


def _digit(settings: Settings, index: int | None) -> Digit:
    """Test digit `index` (None: a random one); the test set is downloaded on first use and
    cached per process by app.data."""
    images, labels = load_test_set(settings.data_source())
    if index is None:
        index = secrets.randbelow(len(labels))
    if not 0 <= index < len(labels):
        raise HTTPException(
            404, f"digit index {index} is out of range: the test set has {len(labels)}"
        )
    return Digit(index=index, label=int(labels[index]), pixels=pixel_values(images[index]))


# Plain `def` handlers: loading MNIST may read or download files, so they run in the threadpool.
@router.get("/random", response_model=Digit, responses=responses(unavailable=["mnist"]))
def random_digit(settings: SettingsDep) -> Digit:
    return _digit(settings, None)


@router.get("/{index}", response_model=Digit, responses=responses(404, 422, unavailable=["mnist"]))
def digit(index: int, settings: SettingsDep) -> Digit:
    return _digit(settings, index)

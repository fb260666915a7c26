"""/api/digits: MNIST test digits, for trying the network on real data."""

from __future__ import annotations

import secrets

import numpy as np
from fastapi import APIRouter, HTTPException

from app.api.deps import SettingsDep
from app.api.errors import responses
from app.api.schemas import Digit
from app.data.mnist import load_mnist_test, pixel_values
from app.settings import Settings

router = APIRouter(prefix="/api/digits", tags=["digits"])


def test_set(settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test split (downloaded on first use; cached per process by app.data)."""
    where = (settings.mnist_dir, settings.cache_dir)
    if settings.mnist_mirrors:
        return load_mnist_test(
            *where, download=settings.mnist_download, mirrors=settings.mnist_mirrors
        )
    return load_mnist_test(*where, download=settings.mnist_download)


def _digit(settings: Settings, index: int) -> dict:
    images, labels = test_set(settings)
    if not 0 <= index < len(labels):
        raise HTTPException(
            404, f"digit index {index} is out of range: the test set has {len(labels)}"
        )
    return {"index": index, "label": int(labels[index]), "pixels": pixel_values(images[index])}


# Plain `def` handlers: loading MNIST may read or download files, so they run in the threadpool.
@router.get("/random", response_model=Digit, responses=responses(503))
def random_digit(settings: SettingsDep) -> dict:
    _, labels = test_set(settings)
    return _digit(settings, secrets.randbelow(len(labels)))


@router.get("/{index}", response_model=Digit, responses=responses(404, 422, 503))
def digit(index: int, settings: SettingsDep) -> dict:
    return _digit(settings, index)

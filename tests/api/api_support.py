"""Helpers shared by the web-layer tests (a module, not fixtures, so tests can import them)."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

# A short real run on an MNIST subset: ~60 steps per epoch, a second or two per run.
SHORT_RUN = {
    "preset": "3b1b",
    "activation": "relu",
    "cost": "cross_entropy",
    "epochs": 2,
    "train_subset": 2000,
    "validation_size": 500,
    "learning_rate": 0.005,
}
# A run that keeps going until stopped (for pause/resume/step and limits).
LONG_RUN = {"preset": "3b1b", "epochs": 100, "validation_size": 500}


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.02) -> Any:
    """Poll until predicate() is truthy (returning it) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def digit_png(size: int = 280, *, blank: bool = False) -> bytes:
    """A drawing like the page sends: a white "7" on black, or a blank canvas."""
    image = np.zeros((size, size), np.uint8)
    if not blank:
        s = size // 28
        image[5 * s : 8 * s, 6 * s : 22 * s] = 255  # the bar
        for row in range(8 * s, 24 * s):  # the diagonal stroke
            col = 22 * s - (row - 8 * s) * 10 // 16
            image[row, max(col - 2 * s, 0) : col + s] = 255
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def npz_arrays(client: Any, model: str) -> tuple[list, list, dict]:
    """A model's weights, biases (float64) and metadata, read from its downloaded .npz with NumPy
    (an independent reading: the tests' own reference for the API's numbers)."""
    r = client.get(f"/api/models/{model}/weights")
    assert r.status_code == 200
    with np.load(io.BytesIO(r.content), allow_pickle=False) as f:
        meta = json.loads(bytes(f["meta"]).decode())
        n = len([k for k in f.files if k.startswith("W")])
        ws = [f[f"W{k}"].astype(np.float64) for k in range(n)]
        bs = [f[f"b{k}"].astype(np.float64) for k in range(n)]
    return ws, bs, meta

"""A model's input transform on a real server (issue 17 §5): a model whose metadata says
"deslant": true reads drawings deslanted (predict, its `input` preview, explain); a model
without it reads exactly today's input."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageDraw

from app.data.preprocess import image_to_input
from app.nn.network import Network
from app.nn.serialize import model_to_bytes

from .api_support import b64
from .test_server import server


def slanted_one() -> bytes:
    """A 1 leaning far to the right, drawn as the page draws (white on opaque black)."""
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    pen = ImageDraw.Draw(image)
    pen.line([(95, 85), (185, 35), (105, 245)], fill=(255, 255, 255, 255), width=18)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def moment_slant(values: list[float]) -> float:
    """mu11 / mu02 of a 28×28 input, summed in plain Python (not the code under test)."""
    grid = [values[r * 28 : (r + 1) * 28] for r in range(28)]
    mass = sum(map(sum, grid))
    cy = sum(y * v for y, row in enumerate(grid) for v in row) / mass
    cx = sum(x * v for row in grid for x, v in enumerate(row)) / mass
    mu11 = sum((y - cy) * (x - cx) * v for y, row in enumerate(grid) for x, v in enumerate(row))
    mu02 = sum((y - cy) ** 2 * v for y, row in enumerate(grid) for v in row)
    return mu11 / mu02


def test_the_models_transform_is_applied_on_predict(tmp_path: Path, mnist_dir: Path) -> None:
    network = Network([784, 32, 10], "relu", "cross_entropy", seed=4)
    png = slanted_one()
    today = image_to_input(png)  # the page's pipeline, which this issue leaves unchanged
    assert moment_slant(today.tolist()) < -0.2  # leaning right: x grows as y falls
    with server(tmp_path / "data", mnist_dir) as (url, _), httpx.Client(base_url=url) as http:
        ids = {}
        for name, metadata in (("plain", {}), ("upright", {"deslant": True})):
            body = model_to_bytes(network, metadata)
            reply = http.post("/api/models", files={"file": (f"{name}.npz", body)})
            assert reply.status_code == 201, reply.text
            ids[name] = reply.json()["id"]
        listed = {m["id"]: m for m in http.get("/api/models").json()["models"]}
        assert listed[ids["plain"]]["deslant"] is False
        assert listed[ids["upright"]]["deslant"] is True
        assert listed["3b1b"]["deslant"] is False

        answers = {}
        for name, model in ids.items():
            reply = http.post(
                "/api/predict", json={"image": b64(png), "model": model, "include": ["input"]}
            )
            assert reply.status_code == 200, reply.text
            answers[name] = reply.json()

        # Without the flag: exactly today's input, bit for bit.
        assert np.array_equal(np.asarray(answers["plain"]["input"], np.float32), today)
        # With it: the input (the page's preview) stands upright ...
        upright = answers["upright"]["input"]
        assert abs(moment_slant(upright)) < 0.03
        # ... and it is what the network read: the answer is the forward pass of that input.
        expected = network.predict_proba(np.asarray(upright, np.float32).reshape(1, 784))[0]
        assert np.allclose(answers["upright"]["probabilities"], expected, atol=1e-6)
        assert not np.allclose(
            answers["upright"]["probabilities"], answers["plain"]["probabilities"]
        )

        # explain reads the same transformed input as predict.
        for name, model in ids.items():
            reply = http.post("/api/explain", json={"image": b64(png), "model": model})
            assert reply.status_code == 200, reply.text
            assert np.allclose(
                reply.json()["probabilities"], answers[name]["probabilities"], atol=1e-6
            )

"""A small drawing is answered even while the heavy pool is full (issue 20, speed): the page's
280×280 PNGs and pixel lists are predicted on the event loop, while big images still go through
the bounded pool and get 503 when it is busy (issue 18, item 3)."""

from __future__ import annotations

import base64
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw, PngImagePlugin

from .test_server import server


def _png(size: int) -> bytes:
    """A white "7" with a thick pen on a black size×size canvas."""
    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    pen = max(size // 25, 1)
    draw.line([(size * 0.25, size * 0.2), (size * 0.75, size * 0.2)], fill=255, width=pen)
    draw.line([(size * 0.75, size * 0.2), (size * 0.4, size * 0.85)], fill=255, width=pen)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def busy_server(tmp_path: Path, mnist_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A server whose one heavy slot is kept busy by big predictions (none may wait)."""
    monkeypatch.setenv("NNP_HEAVY_SLOTS", "1")
    monkeypatch.setenv("NNP_HEAVY_QUEUE", "0")
    big = _png(3999)
    stop = threading.Event()
    with server(tmp_path / "data", mnist_dir) as (url, _):

        def hammer() -> None:
            with httpx.Client(base_url=url, timeout=60) as client:
                while not stop.is_set():
                    client.post("/api/predict", files={"file": ("big.png", big, "image/png")})

        threads = [threading.Thread(target=hammer) for _ in range(2)]
        for thread in threads:
            thread.start()
        try:
            yield url
        finally:
            stop.set()
            for thread in threads:
                thread.join(60)


def _refused_big(client: httpx.Client, big: bytes) -> httpx.Response:
    """A big prediction's 503 (polled: the pool is full most, not all, of the time)."""
    deadline = time.monotonic() + 30
    while True:
        answer = client.post("/api/predict", files={"file": ("big.png", big, "image/png")})
        if answer.status_code == 503:
            return answer
        assert time.monotonic() < deadline, "the heavy pool never filled up"


def test_small_drawings_are_answered_while_big_ones_are_refused(busy_server: str) -> None:
    big = _png(3999)
    small = base64.b64encode(_png(280)).decode()
    with httpx.Client(base_url=busy_server, timeout=30) as client:
        refused = _refused_big(client, big)  # the pool is full
        assert "busy" in refused.json()["detail"] and int(refused.headers["retry-after"]) >= 1
        answers = [
            client.post("/api/predict", json={"image": small, "model": "accurate"})
            for _ in range(5)
        ]
        answers.append(
            client.post("/api/predict", files={"file": ("small.png", _png(280), "image/png")})
        )
        answers.append(client.post("/api/predict", json={"pixels": [0.0] * 392 + [1.0] * 392}))
        _refused_big(client, big)  # big ones are still bounded
    assert [r.status_code for r in answers] == [200] * 7, [r.text[:200] for r in answers]
    assert {r.json()["digit"] for r in answers[:6]} == {7}


def _ztxt_bomb() -> bytes:
    """A 280×280 drawing in well under 64 KiB whose 60 zTXt chunks each inflate to 1 MB: Pillow
    inflates them all when it opens the file (~0.7 s), so it must not be opened on the loop."""
    image = Image.open(io.BytesIO(_png(280)))
    info = PngImagePlugin.PngInfo()
    for k in range(60):
        info.add_text(f"k{k}", "x" * 1_000_000, zip=True)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def test_a_small_png_with_compressed_chunks_goes_through_the_bounded_pool(
    busy_server: str,
) -> None:
    bomb = _ztxt_bomb()
    assert len(bomb) < 64 * 1024
    with httpx.Client(base_url=busy_server, timeout=30) as client:
        refused = _refused_big(client, bomb)  # treated as heavy: 503 while the pool is full
    assert "busy" in refused.json()["detail"]

"""POST /api/predict: every input form and every error path."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient

from app.nn.network import Network
from app.nn.serialize import model_to_bytes

from .api_support import b64, digit_png


def test_predict_json_image_returns_a_distribution(client: TestClient) -> None:
    r = client.post("/api/predict", json={"image": b64(digit_png())})
    assert r.status_code == 200
    body = r.json()
    assert body["model"] == "accurate"  # the default
    assert len(body["probabilities"]) == 10
    assert abs(sum(body["probabilities"]) - 1) < 1e-5
    assert body["digit"] == int(np.argmax(body["probabilities"]))
    assert body["confidence"] == max(body["probabilities"])
    assert "activations" not in body and "input" not in body


def test_predict_data_url_and_multipart_agree(client: TestClient) -> None:
    png = digit_png()
    a = client.post("/api/predict", json={"image": "data:image/png;base64," + b64(png)}).json()
    b = client.post("/api/predict", files={"file": ("d.png", png, "image/png")}).json()
    c = client.post(
        "/api/predict", files={"file": ("d.png", png, "image/png")}, data={"model": "3b1b"}
    ).json()
    assert a["probabilities"] == b["probabilities"]
    assert c["model"] == "3b1b" and len(c["probabilities"]) == 10


def test_predict_pixels_and_includes(client: TestClient) -> None:
    flat = np.zeros(784)
    flat[300:320] = 1.0
    r = client.post(
        "/api/predict",
        json={"pixels": flat.tolist(), "model": "3b1b", "include": ["input", "activations", "zs"]},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["input"] == flat.tolist()
    assert [len(a) for a in body["activations"]] == [16, 16, 10]
    assert [len(z) for z in body["zs"]] == [16, 16, 10]
    rows = client.post("/api/predict", json={"pixels": flat.reshape(28, 28).tolist()}).json()
    assert len(rows["probabilities"]) == 10


def test_predict_matches_the_network(client: TestClient, shipped_dir) -> None:
    from app.nn.serialize import load_model

    net, _ = load_model(shipped_dir / "3b1b.npz")
    x = np.zeros(784, np.float32)
    x[200:260] = 0.8
    body = client.post("/api/predict", json={"pixels": x.tolist(), "model": "3b1b"}).json()
    expected = net.predict_proba(x[None])[0]
    assert np.allclose(body["probabilities"], expected, atol=1e-6)


def test_empty_drawing_is_422_saying_so(client: TestClient) -> None:
    for body in ({"pixels": [0.0] * 784}, {"image": b64(digit_png(blank=True))}):
        r = client.post("/api/predict", json=body)
        assert r.status_code == 422
        assert r.json()["detail"].startswith("The drawing is empty")
    r = client.post("/api/predict", files={"file": ("b.png", digit_png(blank=True), "image/png")})
    assert r.status_code == 422 and "empty" in r.json()["detail"]


def test_bad_inputs_are_422_with_a_detail(client: TestClient) -> None:
    cases = [
        {"pixels": [0.5] * 783},
        {"pixels": [2.0] * 784},
        {"pixels": [-0.1] * 784},
        {"pixels": [[0.5] * 27] * 28},
        {"image": "not base64 !!"},
        {"image": b64(b"definitely not an image")},
        {"image": "data:image/png,notbase64"},
        {"image": b64(digit_png()), "pixels": [0.5] * 784},
        {},
        {"pixels": [0.5] * 784, "include": ["everything"]},
        {"pixels": [0.5] * 784, "surprise": 1},
    ]
    for body in cases:
        r = client.post("/api/predict", json=body)
        assert r.status_code == 422, body
        assert r.json()["detail"], body
    for raw in (b'{"pixels": [NaN' + b", 0.5" * 783 + b"]}", b"{not json", b"[]"):
        r = client.post("/api/predict", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 422, raw[:20]
    r = client.post("/api/predict", files={"other": ("d.png", digit_png(), "image/png")})
    assert r.status_code == 422 and "file" in r.json()["detail"]
    r = client.post("/api/predict", files={"file": ("d.png", b"GIF89a...", "image/gif")})
    assert r.status_code == 422


def test_unknown_model_is_404(client: TestClient) -> None:
    for model in ("nope", "m_00000000"):
        r = client.post("/api/predict", json={"pixels": [0.5] * 784, "model": model})
        assert r.status_code == 404 and model in r.json()["detail"]
    r = client.post(
        "/api/predict", files={"file": ("d.png", digit_png(), "image/png")}, data={"model": "nope"}
    )
    assert r.status_code == 404


def test_body_over_the_limit_is_413(client: TestClient) -> None:
    big = b"x" * 2_100_000
    r = client.post("/api/predict", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    r = client.post("/api/predict", files={"file": ("big.png", big, "image/png")})
    assert r.status_code == 413

    def chunks():  # no Content-Length: the streamed bytes are counted
        for _ in range(30):
            yield b"x" * 100_000

    r = client.post("/api/predict", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_uploaded_model_predicts(client: TestClient) -> None:
    data = model_to_bytes(Network([784, 8, 10], "tanh", "cross_entropy", seed=3), {})
    model = client.post("/api/models", files={"file": ("m.npz", data)}).json()["id"]
    r = client.post("/api/predict", json={"image": b64(digit_png()), "model": model})
    assert r.status_code == 200 and r.json()["model"] == model


def _dot_png() -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(image).ellipse((130, 130, 150, 150), fill=255)  # the page's pen, one tap
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_a_dot_answers_a_guess_with_a_note(client: TestClient) -> None:
    r = client.post("/api/predict", json={"image": b64(_dot_png())})
    assert r.status_code == 200
    body = r.json()
    assert body["note"] == {"code": "too_small", "message": "Too small to read: draw bigger"}
    assert len(body["probabilities"]) == 10 and 0 <= body["digit"] <= 9  # still the guess
    multipart = client.post("/api/predict", files={"file": ("d.png", _dot_png(), "image/png")})
    assert multipart.status_code == 200 and multipart.json()["note"]["code"] == "too_small"


def test_a_real_drawing_has_a_null_note(client: TestClient) -> None:
    body = client.post("/api/predict", json={"image": b64(digit_png())}).json()
    assert "note" in body and body["note"] is None
    pixels = [0.0] * 784
    for row in range(12, 15):
        for col in range(12, 15):
            pixels[row * 28 + col] = 1.0
    dot = client.post("/api/predict", json={"pixels": pixels}).json()
    assert dot["note"]["code"] == "too_small"


def test_booleans_are_not_pixels(client: TestClient) -> None:
    r = client.post("/api/predict", json={"pixels": [True] * 784})
    assert r.status_code == 422
    assert client.post("/api/predict", json={"pixels": [1] * 784}).status_code == 200

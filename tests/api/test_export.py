"""GET /api/models/{id}/export: ONNX (checked by onnx.checker and ONNX's reference evaluator
against our forward pass on 1,000 MNIST test digits), plain JSON, a Markdown model card; the
formats' errors (422, 404, 501 without onnx)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable

import numpy as np
import pytest
from fastapi.testclient import TestClient

import app.main as main
from app.models import SHIPPED
from app.nn.network import Network
from app.nn.optim import make_optimizer
from app.nn.serialize import model_from_bytes, model_to_bytes
from app.paths import SHIPPED_MODELS_DIR
from app.settings import Settings
from tests.nn.export_support import INSTALL, assert_onnx_matches, mnist_digits


def upload(client: TestClient, network: Network, metadata: dict | None = None) -> str:
    data = model_to_bytes(network, metadata or {})
    r = client.post("/api/models", files={"file": ("mine.npz", data)}, data={"name": "mine"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def weights_of(client: TestClient, model_id: str) -> Network:
    """The network the server holds, from its own .npz download."""
    network, _ = model_from_bytes(client.get(f"/api/models/{model_id}/weights").content)
    return network


def custom(activation: str, cost: str, mnist_dir) -> Network:
    """A ReLU or tanh network after 40 Adam steps on MNIST test digits 5000..7560."""
    from app.data.mnist import load_mnist_test

    images, labels = load_mnist_test(mnist_dir, None, download=False)
    network = Network([784, 20, 10], activation, cost, seed=7)  # type: ignore[arg-type]
    optimizer = make_optimizer("adam", 0.01)
    for step in range(40):
        rows = slice(5000 + 64 * step, 5064 + 64 * step)
        x = images[rows].reshape(64, -1).astype(np.float32) / 255
        network.train_step(x, labels[rows].astype(np.int64), optimizer)
    return network


def export(client: TestClient, model_id: str, fmt: str | None = None):
    params = {"format": fmt} if fmt is not None else {}
    return client.get(f"/api/models/{model_id}/export", params=params)


def test_onnx_of_uploaded_relu_and_tanh_models_agrees_with_ours(client: TestClient, mnist_dir):
    x = mnist_digits(mnist_dir)
    for activation, cost in [("relu", "cross_entropy"), ("tanh", "quadratic")]:
        network = custom(activation, cost, mnist_dir)
        model_id = upload(client, network)
        r = export(client, model_id, "onnx")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["content-disposition"] == f'attachment; filename="{model_id}.onnx"'
        assert_onnx_matches(r.content, network, x)


@pytest.fixture
def real_client(
    make_client: Callable[[Settings], TestClient], settings: Settings, monkeypatch
) -> TestClient:
    """A server with the real shipped models (the other tests have small stand-ins)."""
    monkeypatch.setattr(main, "SHIPPED_MODELS_DIR", SHIPPED_MODELS_DIR)
    return make_client(settings)


@pytest.mark.parametrize("name", SHIPPED)
def test_onnx_of_the_shipped_models_agrees_with_ours(real_client: TestClient, name, mnist_dir):
    r = export(real_client, name)  # onnx is the default format
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == f'attachment; filename="{name}.onnx"'
    assert_onnx_matches(r.content, weights_of(real_client, name), mnist_digits(mnist_dir))


def test_json_round_trips_into_a_network_that_predicts_the_same(client: TestClient, mnist_dir):
    network = custom("tanh", "cross_entropy", mnist_dir)
    model_id = upload(client, network)
    r = export(client, model_id, "json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-disposition"] == f'attachment; filename="{model_id}.json"'
    body = r.json()
    assert body["sizes"] == [784, 20, 10] and body["activation"] == "tanh"
    assert body["cost"] == "cross_entropy" and body["output_function"] == "softmax"
    layers = body["layers"]
    copy = Network.from_parameters(
        [np.array(layer["weights"], np.float32) for layer in layers],
        [np.array(layer["biases"], np.float32) for layer in layers],
        body["activation"],
        body["cost"],
    )
    assert [np.array(layer["weights"]).shape for layer in layers] == [(20, 784), (10, 20)]
    x = mnist_digits(mnist_dir)
    assert np.array_equal(copy.predict_proba(x), network.predict_proba(x))
    assert np.array_equal(copy.predict(x), network.predict(x))
    # ... and what the server predicts for a digit is what the copy predicts.
    predicted = client.post("/api/predict", json={"pixels": x[0].tolist(), "model": model_id})
    assert predicted.json()["digit"] == int(copy.predict(x[:1])[0])


def test_card_holds_the_numbers_of_the_models_metadata(client: TestClient) -> None:
    config = {"layers": [16], "activation": "relu", "cost": "cross_entropy",
              "learning_rate": 0.0042, "batch_size": 96, "epochs": 3, "augment": False}  # fmt: skip
    metadata = {"test_accuracy": 0.9731, "validation_accuracy": 0.9688, "config": config,
                "epochs": 3, "preset": "accurate", "seconds": 12.34}  # fmt: skip
    model_id = upload(client, Network([784, 16, 10], "relu", "cross_entropy", seed=1), metadata)
    info = client.get(f"/api/models/{model_id}").json()
    r = export(client, model_id, "card")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/markdown; charset=utf-8"
    assert r.headers["content-disposition"] == f'attachment; filename="{model_id}-card.md"'
    card = r.text
    assert card.startswith("# Model card: mine\n") and f"Model id: {model_id}" in card
    assert f"Created: {info['created']}" in card
    assert "784 → 16 → 10" in card and f"Parameters: {784 * 16 + 16 + 16 * 10 + 10:,}" in card
    assert "97.31%" in card and "96.88%" in card and "3 epochs" in card and "12.3 s" in card
    assert "| learning_rate | 0.0042 |" in card and "| batch_size | 96 |" in card
    assert "Training data: MNIST" in card
    assert "Accuracy on the owner's drawings: not measured" in card


def test_card_of_a_shipped_model(real_client: TestClient) -> None:
    card = export(real_client, "3b1b", "card").text
    assert "95.94%" in card and "784 → 16 → 16 → 10" in card  # its test accuracy (README)
    assert "Parameters: 13,002" in card and "| learning_rate | 0.5 |" in card


def test_an_unknown_format_is_422_listing_the_formats(client: TestClient) -> None:
    r = export(client, "accurate", "tflite")
    assert r.status_code == 422
    (problem,) = r.json()["detail"]
    assert problem["loc"] == ["query", "format"]
    assert all(f"'{fmt}'" in problem["msg"] for fmt in ("onnx", "json", "card")), problem
    assert export(client, "accurate", "").status_code == 422


def test_unknown_and_invalid_models(client: TestClient) -> None:
    r = export(client, "m_00000000", "json")
    assert r.status_code == 404 and "m_00000000" in r.json()["detail"]
    assert export(client, "bad.id").status_code == 422


def test_without_onnx_the_onnx_format_is_501_with_the_install_command(
    client: TestClient, monkeypatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now fails, as uninstalled
    r = export(client, "accurate", "onnx")
    assert r.status_code == 501
    assert r.headers["content-type"] == "application/json"
    assert INSTALL in r.json()["detail"]
    assert export(client, "accurate", "json").status_code == 200  # the others still work
    assert export(client, "accurate", "card").status_code == 200


def test_the_schema_declares_the_formats_and_answers(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/models/{model_id}/export"]
    (parameter,) = [p for p in operation["get"]["parameters"] if p["name"] == "format"]
    assert parameter["schema"]["enum"] == ["onnx", "json", "card"]
    answers = operation["get"]["responses"]
    assert {"200", "404", "422", "501"} <= set(answers)
    assert set(answers["200"]["content"]) == {
        "application/json",
        "application/octet-stream",
        "text/markdown",
    }
    assert re.search(r"pip install", answers["501"]["description"])


def test_the_json_is_one_document_per_model(client: TestClient) -> None:
    """Both stand-in models export; sizes come from the model, not a fixed shape."""
    for model_id, sizes in (("accurate", [784, 32, 10]), ("3b1b", [784, 16, 16, 10])):
        body = json.loads(export(client, model_id, "json").content)
        assert body["sizes"] == sizes and len(body["layers"]) == len(sizes) - 1


def test_the_exports_of_a_deslant_model_say_it_reads_deslanted_input(
    real_client: TestClient,
) -> None:
    """Review H1: the shipped `accurate` reads deslanted drawings (issue 17 §5), so a network
    exported to run elsewhere must say so; `3b1b` does not deslant."""
    import onnx

    for name, deslant in (("accurate", True), ("3b1b", False)):
        document = json.loads(export(real_client, name, "json").content)
        assert document["deslant"] is deslant
        assert ("upright" in document["input"]) is deslant
        card = export(real_client, name, "card").text
        assert ("upright" in card and "mu11" in card) is deslant
        props = {
            p.key: p.value
            for p in onnx.load_from_string(export(real_client, name).content).metadata_props
        }
        assert json.loads(props["deslant"]) is deslant and ("upright" in props["input"]) is deslant


def test_the_exports_of_a_strokes_model_say_it_reads_stroke_normalised_input(
    real_client: TestClient,
) -> None:
    """issue 17 §5: the shipped `accurate` also normalises stroke widths before it reads a
    drawing, so its exports must say so (ONNX and JSON `strokes`, the input in words, the card's
    input line); `3b1b` does not."""
    import onnx

    for name, strokes in (("accurate", True), ("3b1b", False)):
        document = json.loads(export(real_client, name, "json").content)
        assert document["strokes"] is strokes
        assert ("MNIST's range of widths" in document["input"]) is strokes
        card = export(real_client, name, "card").text
        assert ("thinned to 3.47 px" in card and "total variation" in card) is strokes
        props = {
            p.key: p.value
            for p in onnx.load_from_string(export(real_client, name).content).metadata_props
        }
        assert json.loads(props["strokes"]) is strokes
        assert ("thinned to 3.47 px" in props["input"]) is strokes

"""Exporting a network (app/nn/export.py, app/nn/card.py): ONNX checked by onnx.checker and by
ONNX's reference evaluator against our own forward pass on 1,000 MNIST test digits, the plain
JSON read back into a Network and into a forward pass written from its description, and the
Markdown model card."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from app.models import SHIPPED, shipped_model_path
from app.nn.card import model_card
from app.nn.export import EXPORT_FORMATS, OnnxUnavailable, export_network, json_bytes, onnx_bytes
from app.nn.network import Network
from app.nn.optim import make_optimizer
from app.nn.serialize import load_model

from .export_support import (
    INSTALL,
    TOLERANCE,
    assert_onnx_matches,
    json_forward,
    mnist_digits,
    onnx_difference,
    run_onnx,
)


def trained(activation: str, cost: str, mnist_dir: Path, seed: int) -> Network:
    """A small custom network after 60 Adam steps on MNIST test digits (weights far from their
    initialisation, so every unit's activation range is used)."""
    from app.data.mnist import load_mnist_test

    images, labels = load_mnist_test(mnist_dir, None, download=False)
    x = images[2000:4000].reshape(2000, -1).astype(np.float32) / 255
    y = labels[2000:4000].astype(np.int64)
    network = Network([784, 24, 12, 10], activation, cost, seed=seed)  # type: ignore[arg-type]
    optimizer = make_optimizer("adam", 0.01)
    for step in range(60):
        batch = slice((step * 64) % 1920, (step * 64) % 1920 + 64)
        network.train_step(x[batch], y[batch], optimizer)
    return network


@pytest.mark.parametrize("name", SHIPPED)
def test_onnx_of_the_shipped_models_agrees_with_our_forward_pass(name: str, mnist_dir) -> None:
    network, _ = load_model(shipped_model_path(name))
    assert_onnx_matches(onnx_bytes(network, name=name), network, mnist_digits(mnist_dir))


@pytest.mark.parametrize(("activation", "cost"), [("relu", "quadratic"), ("tanh", "cross_entropy")])
def test_onnx_of_custom_relu_and_tanh_models_agrees(activation: str, cost: str, mnist_dir) -> None:
    network = trained(activation, cost, mnist_dir, seed=3)
    x = mnist_digits(mnist_dir)
    assert network.predict(x).std() > 0  # it does not answer one digit for everything
    assert_onnx_matches(onnx_bytes(network), network, x)


@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")  # ONNX's
def test_onnx_probabilities_of_sigmoid_outputs_that_are_all_zero_are_uniform() -> None:
    """predict_proba's rule for a row whose sigmoid outputs sum to 0: uniform (normalise_rows)."""
    network = Network([784, 4, 10], "relu", "quadratic", seed=0)
    network.biases[-1][...] = -300.0  # sigmoid(-300) is exactly 0 in float32
    x = np.zeros((2, 784), np.float32)
    uniform = np.full((2, 10), 0.1, np.float32)
    assert np.array_equal(network.predict_proba(x), uniform)
    output, probabilities = run_onnx(onnx_bytes(network), x)
    assert np.array_equal(output, np.zeros((2, 10), np.float32))
    assert np.array_equal(probabilities, uniform)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_wrong_onnx_would_be_noticed(name: str, mnist_dir) -> None:
    """The comparison is not vacuous: one weight of the first layer changed by 0.05 shows."""
    network, _ = load_model(shipped_model_path(name))
    digits = mnist_digits(mnist_dir)
    # A first-layer unit the digits reach (a ReLU unit may be dead for all of them, as unit 5
    # of the stroke-normalised accurate is): the one with the most total input over them.
    unit = int(
        np.argmax(network.weights[0] @ digits.T.sum(axis=1) + len(digits) * network.biases[0])
    )
    other = network.copy()
    other.weights[0][unit, 14 * 28 + 14] += 0.05  # the centre pixel: inked in many digits
    difference = onnx_difference(onnx_bytes(other), network, digits)
    assert difference.outputs > TOLERANCE


def test_json_reads_back_into_the_same_network(mnist_dir) -> None:
    network = trained("tanh", "cross_entropy", mnist_dir, seed=4)
    document = json.loads(json_bytes(network))
    assert document["sizes"] == [784, 24, 12, 10]
    assert (document["activation"], document["cost"]) == ("tanh", "cross_entropy")
    assert document["output_function"] == "softmax"
    copy = Network.from_parameters(
        [np.array(layer["weights"], np.float32) for layer in document["layers"]],
        [np.array(layer["biases"], np.float32) for layer in document["layers"]],
        document["activation"],
        document["cost"],
    )
    for ours, theirs in zip([*network.weights, *network.biases],
                            [*copy.weights, *copy.biases], strict=True):  # fmt: skip
        assert np.array_equal(ours, theirs)  # bit for bit
    x = mnist_digits(mnist_dir)
    assert np.array_equal(copy.predict(x), network.predict(x))
    assert np.array_equal(copy.predict_proba(x), network.predict_proba(x))


@pytest.mark.parametrize("name", SHIPPED)
def test_a_forward_pass_written_from_the_json_alone_agrees(name: str, mnist_dir) -> None:
    network, _ = load_model(shipped_model_path(name))
    x = mnist_digits(mnist_dir)
    outputs = json_forward(json.loads(json_bytes(network)), x)
    assert np.abs(outputs - network.forward(x).activations[-1]).max() <= TOLERANCE
    assert np.array_equal(outputs.argmax(1), network.predict(x))


def test_the_card_holds_the_numbers_of_the_metadata() -> None:
    network, metadata = load_model(shipped_model_path("accurate"))
    card = model_card(network, metadata, name="accurate", model_id="accurate", now="NOW")
    assert card.startswith("# Model card: accurate\n")
    assert "784 → 256 → 128 → 10" in card
    parameters = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    assert f"Parameters: {parameters:,}" in card  # 235,146
    assert f"{metadata['test_accuracy']:.2%}" in card  # 99.29%
    assert f"{metadata['validation_accuracy']:.2%}" in card
    assert "relu" in card and "softmax" in card
    for key in ("learning_rate", "batch_size", "optimizer", "lr_schedule"):
        assert f"| {key} | {metadata['config'][key]} |" in card
    assert metadata["created"] in card and "Card written: NOW" in card
    assert f"{metadata['epochs']} epochs" in card
    assert "Training data: MNIST" in card
    assert "owner's drawings: not measured" in card


def test_the_card_reports_drawings_and_a_data_mix_once_they_exist() -> None:
    network = Network([784, 8, 10], "relu", "cross_entropy", seed=0)
    config = {"data": "mix", "drawings_fraction": 0.25, "augment": True}
    metadata = {"config": config, "test_accuracy": 0.981, "drawings_accuracy": 0.875}
    card = model_card(network, metadata, name="mine", model_id="m_1")
    assert "owner's drawings: 87.50%" in card and "98.10%" in card
    assert "MNIST mixed with the owner's drawings, 25% of the samples" in card


def test_the_card_of_an_uploaded_file_with_odd_metadata() -> None:
    """Uploaded metadata is anybody's JSON: wrong types read "not recorded", text stays on its
    line and cannot smuggle in Markdown structure or HTML."""
    network = Network([784, 8, 10], seed=0)
    metadata = {"test_accuracy": "high", "config": ["not", "a", "dict"], "created": 5}
    name = "my | net\n# heading <script>alert(1)</script>"
    card = model_card(network, metadata, name=name, model_id="m_2")
    assert "MNIST test accuracy (10,000 test digits): not recorded" in card
    assert "Training config: not recorded" in card and "Created: not recorded" in card
    title = card.splitlines()[0]
    assert title == "# Model card: my \\| net # heading &lt;script&gt;alert(1)&lt;/script&gt;"
    assert "<script>" not in card and "\n# heading" not in card


def test_export_network_names_the_files() -> None:
    network = Network([784, 8, 10], seed=0)
    suffixes = {"onnx": "m_1.onnx", "json": "m_1.json", "card": "m_1-card.md"}
    for fmt in EXPORT_FORMATS:
        exported = export_network(network, {}, fmt, stem="m_1", name="mine")
        assert exported.filename == suffixes[fmt] and exported.data
    assert set(EXPORT_FORMATS) == set(suffixes)


def test_without_onnx_the_onnx_format_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now fails
    network = Network([784, 8, 10], seed=0)
    with pytest.raises(OnnxUnavailable, match="onnx") as raised:
        onnx_bytes(network)
    assert INSTALL in str(raised.value)
    assert export_network(network, {}, "json", stem="m", name="m").data  # the others work


def test_the_card_of_a_fine_tuned_model_says_where_it_started_and_on_what() -> None:
    """finetune (issue 17 §2) records `from_model`, `drawings_pool` and the drawings' counts:
    the card names the model it started from, whose drawings, and how many trained and were
    held out."""
    network = Network([784, 8, 10], "relu", "cross_entropy", seed=0)
    config = {"data": "drawings", "drawings_pool": "class", "from_model": "accurate"}
    metadata = {"config": config, "drawings": {"train": 78, "held_out": 22}}
    card = model_card(network, metadata, name="ours", model_id="m_3")
    assert "Training data: the class's pooled drawings (78 drawings trained, 22 held out)." in card
    assert "Fine-tuned: started from the weights of model accurate." in card
    assert "Accuracy on the class's held-out drawings: not measured" in card
    mine = {"config": {"data": "mix", "drawings_fraction": 0.5}, "drawings": {"train": 9}}
    card = model_card(network, mine, name="mine", model_id="m_4")
    assert "Training data: MNIST mixed with the owner's drawings, 50% of the samples." in card
    assert "Fine-tuned" not in card  # no from_model: trained from scratch

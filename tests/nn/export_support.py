"""Helpers for the export tests (tests/nn, tests/api, tests/cli): MNIST test digits, and the
ONNX checks: onnx.checker, and ONNX's own reference evaluator against our forward pass."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple

import numpy as np

from app.data.mnist import load_mnist_test
from app.nn.network import Network

DIGITS = 1_000
TOLERANCE = 1e-5  # the largest difference allowed between ONNX's outputs and ours
INSTALL = 'pip install "nn-playground[export]"'
ONNX_OPS = {"sigmoid": "Sigmoid", "relu": "Relu", "tanh": "Tanh"}


@functools.cache
def mnist_digits(mnist_dir: Path, count: int = DIGITS) -> np.ndarray:
    """The first `count` MNIST test digits as network inputs `(count, 784)` float32 in 0..1."""
    images, _ = load_mnist_test(mnist_dir, None, download=False)
    x = images[:count].reshape(count, -1).astype(np.float32) / np.float32(255)
    x.setflags(write=False)
    return x


def check_onnx_structure(data: bytes, network: Network) -> None:
    """Valid by onnx.checker; float32 in and out; per layer a Gemm (transB=1) whose weights are
    the layer's W in its (out, in) shape, then the activation, then the output function."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(data)
    onnx.checker.check_model(model, full_check=True)
    graph = model.graph
    float32 = onnx.TensorProto.FLOAT
    assert [v.type.tensor_type.elem_type for v in [*graph.input, *graph.output]] == [float32] * 3
    assert [v.name for v in graph.output] == ["output", "probabilities"]
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    gemms = [node for node in graph.node if node.op_type == "Gemm"]
    assert len(gemms) == network.num_layers
    for layer, node in enumerate(gemms):
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attributes.get("transB") == 1 and attributes.get("transA", 0) == 0
        w, b = weights[node.input[1]], weights[node.input[2]]
        assert w.dtype == np.float32 and b.dtype == np.float32
        assert np.array_equal(w, network.weights[layer])  # (out, in), as ours
        assert np.array_equal(b, network.biases[layer])
    hidden = ONNX_OPS[network.activation]
    output = "Sigmoid" if network.cost == "quadratic" else "Softmax"
    ops = [n.op_type for n in graph.node if n.op_type in {"Gemm", *ONNX_OPS.values(), "Softmax"}]
    assert ops == ["Gemm", hidden] * (network.num_layers - 1) + ["Gemm", output]


def run_onnx(data: bytes, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(output, probabilities) of the ONNX model for x, by ONNX's reference evaluator."""
    import onnx
    from onnx.reference import ReferenceEvaluator

    output, probabilities = ReferenceEvaluator(onnx.load_from_string(data)).run(None, {"input": x})
    return output, probabilities


class Difference(NamedTuple):
    outputs: float  # the largest |ONNX − ours| of a_L
    probabilities: float  # the same of predict_proba, times min(1, the row's output sum)
    same_digits: bool  # ONNX's most probable digit is ours for every x


def onnx_difference(data: bytes, network: Network, x: np.ndarray) -> Difference:
    """The largest |ONNX − ours| over x with ONNX's reference evaluator: of the outputs (a_L,
    Network.forward), and of the probabilities (Network.predict_proba) times min(1, the row's
    output sum).

    Why the factor: sigmoid outputs are divided by their sum, so where every output of a row is
    tiny (sum 7e-4 seen) a float32 rounding difference in them is multiplied by up to 1/sum;
    ours is the less precise side there (sigmoid as 0.5·tanh(z/2) + 0.5 keeps ~1e-8 absolute,
    not relative, precision for z ≪ 0). Scaled back by the sum, the bar is the outputs' bar."""
    output, probabilities = run_onnx(data, x)
    assert output.dtype == probabilities.dtype == np.float32
    assert output.shape == probabilities.shape == (len(x), network.sizes[-1])
    ours = network.forward(x).activations[-1]
    scale = np.minimum(ours.sum(axis=1, keepdims=True), 1.0)
    return Difference(
        float(np.abs(output - ours).max()),
        float((np.abs(probabilities - network.predict_proba(x)) * scale).max()),
        bool(np.array_equal(probabilities.argmax(1), network.predict(x))),
    )


def assert_onnx_matches(data: bytes, network: Network, x: np.ndarray) -> None:
    check_onnx_structure(data, network)
    difference = onnx_difference(data, network, x)
    assert difference.outputs <= TOLERANCE, difference
    assert difference.probabilities <= TOLERANCE, difference
    assert difference.same_digits, difference


def json_forward(document: dict, x: np.ndarray) -> np.ndarray:
    """A forward pass written from the JSON export's description alone (as a user elsewhere
    would write it), in float64: the last layer's outputs."""
    functions = {
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "relu": lambda z: np.maximum(z, 0),
        "tanh": np.tanh,
        "softmax": lambda z: (
            np.exp(z - z.max(1, keepdims=True))
            / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)
        ),
    }
    a = x.astype(np.float64)
    layers = document["layers"]
    for i, layer in enumerate(layers):
        z = a @ np.array(layer["weights"]).T + np.array(layer["biases"])
        last = i == len(layers) - 1
        a = functions[document["output_function"] if last else document["activation"]](z)
    return a

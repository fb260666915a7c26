"""A network in formats other programs read: ONNX, plain JSON, and a Markdown model card.

Pure: every function builds bytes or text from a `Network` (and its file's metadata); writing
them somewhere is the caller's job (the API answers them, the CLI writes a file).

* `onnx`: float32, one `Gemm` per layer (input @ W.T + b: W kept in its `(n_l, n_{l-1})` shape,
  `transB=1`), then the hidden activation (Sigmoid / Relu / Tanh) or, after the last layer,
  the output function of the cost (Sigmoid or Softmax, app/nn/vocab.py OUTPUT_FOR_COST).
  Two outputs: `output`, a_L as `Network.forward` computes it, and `probabilities`, as
  `Network.predict_proba` computes them (sigmoid outputs divided by their sum, a row summing to
  0 uniform; softmax outputs as they are). Its metadata_props say the name, sizes,
  activation, cost, output function, the dataset it was trained on and `class_names` (a JSON
  list: output i is class_names[i]). Needs the optional `onnx` package (the `[export]` extra);
  without it `OnnxUnavailable`. Checked with `onnx.checker` before it is returned.
* `json`: sizes, activation, cost, output function, the dataset and its `class_names`, and every
  layer's weights and biases, for a forward pass written in another language; float32 values
  written with 9 significant digits, which read back as exactly the same float32.
* `card`: a Markdown model card (architecture, parameter count, training config, data, test
  accuracy, accuracy on the owner's drawings, dates), from the model file's metadata.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, get_args

import numpy as np

from app.jsontypes import JSONObject
from app.nn.card import dataset_title, input_words, model_card
from app.nn.network import Network
from app.nn.vocab import OUTPUT_FOR_COST

if TYPE_CHECKING:
    from onnx import ModelProto, NodeProto, TensorProto

# The export formats, declared once: the API's `format` choices and the CLI's `--format`.
ExportFormat = Literal["onnx", "json", "card"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)
SUFFIXES: Final[dict[ExportFormat, str]] = {"onnx": ".onnx", "json": ".json", "card": "-card.md"}
MEDIA_TYPES: Final[dict[ExportFormat, str]] = {
    "onnx": "application/octet-stream",
    "json": "application/json",
    "card": "text/markdown; charset=utf-8",
}
INSTALL_EXPORT: Final = 'pip install "nn-playground[export]"'
# What a `json` export says it is (its `format` and `version` fields).
JsonFormat = Literal["nn-playground-network"]
JSON_FORMAT: Final[JsonFormat] = get_args(JsonFormat)[0]
JsonVersion = Literal[1]
JSON_VERSION: Final[JsonVersion] = get_args(JsonVersion)[0]
ONNX_OPSET: Final = 17  # Gemm, Sigmoid, Relu, Tanh, Softmax(axis), ReduceSum(axes input), Where
ONNX_IR_VERSION: Final = 8  # the IR of opset 17 (ONNX 1.12): readable by runtimes since 2022
_ONNX_OPS: Final = {"sigmoid": "Sigmoid", "relu": "Relu", "tanh": "Tanh", "softmax": "Softmax"}


class OnnxUnavailable(RuntimeError):
    """The `onnx` package is not installed (it is the optional `[export]` extra)."""

    def __init__(self) -> None:
        super().__init__(f"the onnx format needs the onnx package: {INSTALL_EXPORT}")


@dataclass(frozen=True)
class Labels:
    """What a network's inputs and outputs mean: the dataset it was trained on, the name of
    each output, output 0 first, and whether it reads deslanted inputs (app/data/deslant.py)
    and stroke-normalised ones (app/data/strokes.py; app/store/models.py's ModelEntry has all
    four)."""

    dataset: str = "mnist"
    class_names: Sequence[str] = tuple(str(d) for d in range(10))
    deslant: bool = False
    strokes: bool = False


@dataclass(frozen=True)
class Exported:
    """An exported model: its bytes, their media type, and a file name for them."""

    data: bytes
    media_type: str
    filename: str


def export_network(
    network: Network,
    metadata: JSONObject,
    fmt: ExportFormat,
    *,
    stem: str,
    name: str,
    labels: Labels | None = None,
) -> Exported:
    """`network` as `fmt`; `stem` names the file (`<stem>.onnx`), `name` heads the card;
    `labels` (MNIST's digits when None) go into the ONNX and JSON files (the card reads the
    same from `metadata`)."""
    if fmt == "onnx":
        data = onnx_bytes(network, name=name, labels=labels)
    elif fmt == "json":
        data = json_bytes(network, labels=labels)
    else:
        data = model_card(network, metadata, name=name, model_id=stem).encode("utf-8")
    return Exported(data, MEDIA_TYPES[fmt], f"{stem}{SUFFIXES[fmt]}")


# ---- ONNX -----------------------------------------------------------------------------------


def onnx_model(
    network: Network, *, name: str = "network", labels: Labels | None = None
) -> ModelProto:
    """The ONNX model of `network` (see the module docstring), checked with onnx.checker."""
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError:
        raise OnnxUnavailable() from None
    n_in, n_out = network.sizes[0], network.sizes[-1]
    nodes, initializers = _onnx_layers(network)
    probability_nodes, constants = _onnx_probabilities(network)
    graph = helper.make_graph(
        [*nodes, *probability_nodes],
        "nn_playground",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", n_in])],
        [
            helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", n_out]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", n_out]),
        ],
        initializer=[*initializers, *constants],
        doc_string=f"{name}: {' -> '.join(map(str, network.sizes))}, {network.activation}, "
        f"{OUTPUT_FOR_COST[network.cost]} outputs; input: {n_in} pixel values in 0..1",
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
        producer_name="nn-playground",
        ir_version=ONNX_IR_VERSION,
    )
    helper.set_model_props(model, _onnx_props(network, name, labels or Labels()))
    onnx.checker.check_model(model, full_check=True)
    return model


def onnx_bytes(network: Network, *, name: str = "network", labels: Labels | None = None) -> bytes:
    """The serialised ONNX model of `network`; OnnxUnavailable without the onnx package."""
    data: bytes = onnx_model(network, name=name, labels=labels).SerializeToString()
    return data


def _onnx_layers(network: Network) -> tuple[list[NodeProto], list[TensorProto]]:
    """Gemm + activation per layer, input → output, and the weights as initializers."""
    from onnx import helper, numpy_helper

    nodes: list[NodeProto] = []
    initializers: list[TensorProto] = []
    last = network.num_layers - 1
    previous = "input"
    for layer, (w, b) in enumerate(zip(network.weights, network.biases, strict=True)):
        initializers.append(numpy_helper.from_array(np.asarray(w, np.float32), f"W{layer}"))
        initializers.append(numpy_helper.from_array(np.asarray(b, np.float32), f"b{layer}"))
        z = f"z{layer}"
        nodes.append(
            helper.make_node(
                "Gemm", [previous, f"W{layer}", f"b{layer}"], [z], f"layer{layer}", transB=1
            )
        )
        function = OUTPUT_FOR_COST[network.cost] if layer == last else network.activation
        out = "output" if layer == last else f"a{layer}"
        node = helper.make_node(_ONNX_OPS[function], [z], [out], f"{function}{layer}")
        if function == "softmax":
            node.attribute.append(helper.make_attribute("axis", 1))  # over each row's outputs
        nodes.append(node)
        previous = out
    return nodes, initializers


def _onnx_probabilities(network: Network) -> tuple[list[NodeProto], list[TensorProto]]:
    """`probabilities` from `output`, as predict_proba computes them (normalise_rows for
    sigmoid outputs: each row divided by its sum; a row whose sum is not positive uniform)."""
    from onnx import helper, numpy_helper

    if OUTPUT_FOR_COST[network.cost] == "softmax":
        return [helper.make_node("Identity", ["output"], ["probabilities"], "probabilities")], []
    constants = [
        numpy_helper.from_array(np.array([1], np.int64), "row_axis"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(1.0 / network.sizes[-1], np.float32), "uniform"),
    ]
    nodes = [
        helper.make_node("ReduceSum", ["output", "row_axis"], ["total"], "total", keepdims=1),
        helper.make_node("LessOrEqual", ["total", "zero"], ["empty"], "empty"),
        helper.make_node("Where", ["empty", "one", "total"], ["divisor"], "divisor"),
        helper.make_node("Div", ["output", "divisor"], ["shares"], "shares"),
        helper.make_node("Where", ["empty", "uniform", "shares"], ["probabilities"], "uniform"),
    ]
    return nodes, constants


def _onnx_props(network: Network, name: str, labels: Labels) -> dict[str, str]:
    return {
        "name": name,
        "sizes": json.dumps(list(network.sizes)),
        "activation": network.activation,
        "cost": network.cost,
        "output_function": OUTPUT_FOR_COST[network.cost],
        "dataset": labels.dataset,
        "class_names": json.dumps(list(labels.class_names), ensure_ascii=False),
        "deslant": json.dumps(labels.deslant),
        "strokes": json.dumps(labels.strokes),
        "input": _input(network, labels),
    }


def _input(network: Network, labels: Labels) -> str:
    title = dataset_title({"dataset": labels.dataset})
    words = input_words(title, labels.deslant, labels.strokes)
    return f"{network.sizes[0]} pixel values in 0..1 ({words})"


# ---- JSON -----------------------------------------------------------------------------------


def _numbers(values: np.ndarray) -> str:
    """A JSON array of float32 values, each with the 9 significant digits that read back as
    exactly the same float32 (the weights are finite: every stored model is checked)."""
    return "[" + ",".join(f"{v:.9g}" for v in values.astype(np.float64).tolist()) + "]"


def json_bytes(network: Network, *, labels: Labels | None = None) -> bytes:
    """The network as plain JSON (see docs/api.md): its shape, its dataset and `class_names`
    (output i is class_names[i]), then per layer, input first, `weights` (n_l rows of n_{l-1}:
    z = W·a + b) and `biases` (n_l)."""
    labels = labels or Labels()
    for layer, (w, b) in enumerate(zip(network.weights, network.biases, strict=True)):
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ValueError(f"layer {layer} holds NaN or infinite values: not JSON")
    head = json.dumps(
        {
            "format": JSON_FORMAT,
            "version": JSON_VERSION,
            "sizes": list(network.sizes),
            "activation": network.activation,
            "cost": network.cost,
            "output_function": OUTPUT_FOR_COST[network.cost],
            "input": _input(network, labels),
            "deslant": labels.deslant,
            "strokes": labels.strokes,
            "dataset": labels.dataset,
            "class_names": list(labels.class_names),
        },
        ensure_ascii=False,
    )
    layers = ",".join(
        '{"weights":[' + ",".join(_numbers(row) for row in w) + '],"biases":' + _numbers(b) + "}"
        for w, b in zip(network.weights, network.biases, strict=True)
    )
    return f'{head[:-1]}, "layers": [{layers}]}}'.encode()

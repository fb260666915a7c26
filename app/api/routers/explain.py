"""POST /api/explain and /api/explain/step: the maths of one drawing (or a mini-batch), exposed.

All numbers come from `Network.explain` / `explain_batch` / `train_step` in app/nn; this module
only decodes input (with predict's helpers), picks rows, and shapes JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException

from app.api.deps import ModelsDep, SettingsDep
from app.api.errors import responses
from app.api.explain_schemas import (
    MAX_FULL_GRAD_WEIGHTS,
    ExplainRequest,
    ExplainResponse,
    GradWeights,
    StepRequest,
    StepResponse,
)
from app.api.routers.predict import InputError, decode_image, to_input
from app.data.mnist import MIRRORS, load_mnist, load_test_set
from app.nn.explain import Explanation
from app.nn.network import Network
from app.nn.optim import SGD
from app.settings import Settings

router = APIRouter(prefix="/api/explain", tags=["explain"])


def _input(body: ExplainRequest | StepRequest) -> np.ndarray:
    try:
        data = decode_image(body.image) if body.image is not None else None
        return to_input(data, body.pixels)[0]
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None


def _batch(settings: Settings, body: ExplainRequest) -> tuple[np.ndarray, np.ndarray]:
    spec = body.batch
    assert spec is not None
    if spec.source == "test":
        images, labels = load_test_set(settings.data_source())
    else:
        mnist = load_mnist(
            settings.mnist_dir,
            settings.cache_dir,
            download=settings.mnist_download,
            mirrors=tuple(settings.mnist_mirrors or MIRRORS),
        )
        images, labels = mnist.train_images, mnist.train_labels
    picks = np.random.default_rng(spec.seed).choice(len(labels), spec.size, replace=False)
    x = images[picks].reshape(spec.size, -1).astype(np.float32) / 255.0
    return x, labels[picks].astype(np.int64)


def _grad_rows(network: Network, result: Explanation, ask: GradWeights) -> dict[str, Any]:
    if ask.layer >= network.num_layers:
        raise HTTPException(
            422, f"grad_weights: layer {ask.layer} does not exist (0..{network.num_layers - 1})"
        )
    grads = result.grad_weights[ask.layer]
    if ask.neurons is None:
        if grads.size > MAX_FULL_GRAD_WEIGHTS:
            raise HTTPException(
                422,
                f"grad_weights: layer {ask.layer} has {grads.size} weights, more than "
                f"{MAX_FULL_GRAD_WEIGHTS}; ask for some 'neurons' (rows) instead",
            )
        rows = list(range(grads.shape[0]))
    else:
        rows = ask.neurons
        bad = [n for n in rows if not 0 <= n < grads.shape[0]]
        if bad:
            raise HTTPException(
                422,
                f"grad_weights: layer {ask.layer} has neurons 0..{grads.shape[0] - 1}, got {bad}",
            )
    return {"layer": ask.layer, "neurons": rows, "values": grads[rows].tolist()}


def _lists(arrays: list[np.ndarray]) -> list[list[float]]:
    return [a.astype(np.float64).tolist() for a in arrays]


@router.post("", response_model=ExplainResponse, responses=responses(404, 409, 422, 503))
def explain(body: ExplainRequest, models: ModelsDep, settings: SettingsDep) -> dict[str, Any]:
    """One drawing's (or a mini-batch's mean) z, a, cost and gradients."""
    entry = models.get(body.model)  # ModelNotFound → 404
    network = entry.net
    if body.batch is not None:
        result = network.explain_batch(*_batch(settings, body))
    else:
        result = network.explain(_input(body), body.label)
    return {
        "model": entry.id,
        "count": result.count,
        "cost_function": network.cost,
        "digit": result.digit,
        "label": result.label,
        "probabilities": result.probabilities.astype(np.float64).tolist(),
        "cost": float(result.cost),
        "cost_terms": result.cost_terms.astype(np.float64).tolist(),
        "zs": _lists(result.zs),
        "activations": _lists(result.activations),
        "grad_activations": _lists(result.grad_activations),
        "grad_biases": _lists(result.grad_biases),
        "grad_weights": [_grad_rows(network, result, ask) for ask in body.grad_weights],
    }


def _state(result: Explanation) -> dict[str, Any]:
    return {
        "cost": float(result.cost),
        "digit": result.digit,
        "probabilities": result.probabilities.astype(np.float64).tolist(),
    }


@router.post("/step", response_model=StepResponse, responses=responses(404, 409, 422))
def step(body: StepRequest, models: ModelsDep) -> dict[str, Any]:
    """Gradient-descent steps on this one example, on a scratch copy of the model."""
    entry = models.get(body.model)
    x = _input(body)
    scratch = entry.net.copy()  # the stored model is never written
    first = scratch.explain(x, body.label)
    label = first.label if body.label is None else body.label
    assert label is not None
    optimizer = SGD(body.learning_rate)
    states = [_state(first)]
    for _ in range(body.steps):
        scratch.train_step(x.reshape(1, -1), np.array([label]), optimizer)
        states.append(_state(scratch.explain(x, label)))
    return {
        "model": entry.id,
        "label": label,
        "learning_rate": body.learning_rate,
        "states": states,
    }

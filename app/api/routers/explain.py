"""POST /api/explain and /api/explain/step: the maths of one drawing (or a mini-batch), exposed.

All numbers come from app/nn (`Network.explain`, app/nn/lesson.py); this module picks the
model and the digits, sends the work through the app's bounded pool (app/api/heavy.py) and
shapes JSON.
"""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, HTTPException, Response
from fastapi.concurrency import run_in_threadpool

from app.api.access import ExplainCaller
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
from app.api.finite import dumps, splice
from app.api.heavy import GateDep, Shared
from app.data.decode import InputError, drawing_input
from app.data.deslant import transformed_rows
from app.data.mnist import load_test_set, load_training_data
from app.jsontypes import JSONObject
from app.nn.explain import Explanation
from app.nn.lesson import descend, mean_explanation, sample_rows
from app.nn.network import Network
from app.settings import Settings
from app.store.models import ModelEntry

router = APIRouter(prefix="/api/explain", tags=["explain"])


class _WholeTestSet:
    """A model's mean over the whole test set, which is the same for everyone who asks
    (whatever the seed). The same request asked at the same moment gets the same bytes, encoded
    once (megabytes of gradients are the costly part); they are not kept afterwards."""

    def __init__(self, result: Explanation) -> None:
        self.result = result
        self.answers: Shared[bytes] = Shared(weak=False, size=0)


# Computed once per model, kept while the model is loaded.
WHOLE_TEST_SET: Shared[_WholeTestSet] = Shared()


def _input(body: ExplainRequest | StepRequest) -> np.ndarray:
    try:
        return drawing_input(body.image, body.pixels)
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None


def _batch(settings: Settings, body: ExplainRequest) -> tuple[np.ndarray, np.ndarray]:
    spec = body.batch
    assert spec is not None
    if spec.source == "test":
        return load_test_set(settings.data_source())
    mnist = load_training_data(settings.data_source())
    return mnist.train_images, mnist.train_labels


def _sample_mean(entry: ModelEntry, settings: Settings, body: ExplainRequest) -> Explanation:
    spec = body.batch
    assert spec is not None
    images, labels = _batch(settings, body)
    picks = sample_rows(len(labels), spec.size, spec.seed)
    picks.sort()  # the same mean; reads the images in order
    transforms = (entry.deslant, entry.strokes)
    chosen = transformed_rows(images, picks, *transforms) if any(transforms) else images[picks]
    return mean_explanation(entry.net, chosen, labels[picks])


def _grad_rows(
    network: Network, result: Explanation, ask: GradWeights
) -> tuple[JSONObject, np.ndarray]:
    """`{"layer", "neurons"}` of one ask, and its `values`: the rows' array (encoded a row at
    a time by _explain_json)."""
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
    return {"layer": ask.layer, "neurons": rows}, grads[rows]


def _lists(arrays: list[np.ndarray]) -> list[list[float]]:
    return [a.astype(np.float64).tolist() for a in arrays]


def _explain_json(model: str, network: Network, result: Explanation, body: ExplainRequest) -> bytes:
    content = {
        "model": model,
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
    }
    asked = [_grad_rows(network, result, ask) for ask in body.grad_weights]
    what = "the explanation"
    # Encoded a row at a time, from the arrays: megabytes of gradients never hold the GIL for
    # long at once, nor exist as millions of Python floats at once.
    items = [
        splice(head, "values", [dumps(row.tolist(), what) for row in values])
        for head, values in asked
    ]
    return splice(content, "grad_weights", items)


def _whole_test_set(body: ExplainRequest, settings: Settings) -> bool:
    """Whether the batch asked for is the whole test set (its mean is then the same for all)."""
    spec = body.batch
    return (
        spec is not None and spec.source == "test" and spec.size == len(_batch(settings, body)[1])
    )


@router.post(
    "",
    response_model=ExplainResponse,
    responses=responses(404, 409, 422, unavailable=["mnist", "busy"]),
)
async def explain(
    body: ExplainRequest,
    models: ModelsDep,
    settings: SettingsDep,
    gate: GateDep,
    caller: ExplainCaller,
) -> Response:
    """One drawing's (or a mini-batch's mean) z, a, cost and gradients."""
    entry = models.get(body.model)  # ModelNotFound → 404
    network = entry.net

    def answer(result: Explanation) -> bytes:
        return _explain_json(entry.id, network, result, body)

    if body.batch is None:
        content = await gate.run(
            lambda: answer(network.explain(entry.input_for(_input(body)), body.label))
        )
    elif await run_in_threadpool(_whole_test_set, body, settings):
        whole = await WHOLE_TEST_SET.get(
            network, gate, lambda: _WholeTestSet(_sample_mean(entry, settings, body))
        )
        asked = tuple(
            (a.layer, None if a.neurons is None else tuple(a.neurons)) for a in body.grad_weights
        )
        content = await whole.answers.get((entry.id, asked), gate, lambda: answer(whole.result))
    else:
        content = await gate.run(lambda: answer(_sample_mean(entry, settings, body)))
    return Response(content, media_type="application/json")


def _state(result: Explanation) -> JSONObject:
    return {
        "cost": float(result.cost),
        "digit": result.digit,
        "probabilities": result.probabilities.astype(np.float64).tolist(),
    }


def _step_json(entry: ModelEntry, network: Network, body: StepRequest) -> bytes:
    x = entry.input_for(_input(body))  # the model's input transform (handwriting: deslant)
    descent = descend(network, x, body.label, body.learning_rate, body.steps)
    content = {
        "model": entry.id,
        "label": descent.label,
        "learning_rate": body.learning_rate,
        "states": [_state(state) for state in descent.states],
    }
    return dumps(content, "the descent")


@router.post(
    "/step", response_model=StepResponse, responses=responses(404, 409, 422, unavailable=["busy"])
)
async def step(
    body: StepRequest, models: ModelsDep, gate: GateDep, caller: ExplainCaller
) -> Response:
    """Gradient-descent steps on this one example, on a scratch copy of the model (the stored
    model is never written)."""
    entry = models.get(body.model)
    content = await gate.run(_step_json, entry, entry.net, body)
    return Response(content, media_type="application/json")

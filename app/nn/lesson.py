"""What the explain endpoints ask of a network, beyond one `explain`: the mean over a sample of
stored digits, and a few steps of gradient descent on one example.

Pure computation (no I/O): the web layer picks the model and loads the digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.data.batches import to_inputs
from app.nn.explain import Explanation
from app.nn.network import Network
from app.nn.optim import SGD

# Examples per forward/backward pass of a sample's mean: a 10,000-digit sample would otherwise
# take ~10 float copies of (10,000 × 784) at once (~0.3 GB for one request).
CHUNK = 1000


def sample_rows(total: int, size: int, seed: int | None) -> np.ndarray:
    """`size` distinct row indices of `total`, drawn with `seed` (all rows when size == total,
    in an order that doesn't change the mean)."""
    if size > total:
        raise ValueError(f"a sample of {size} from {total} examples")
    return np.random.default_rng(seed).choice(total, size, replace=False)


def _weighted_sum(
    acc: list[np.ndarray] | None, arrays: list[np.ndarray], w: float
) -> list[np.ndarray]:
    if acc is None:
        return [a.astype(np.float64) * w for a in arrays]
    for total, a in zip(acc, arrays, strict=True):
        total += a * w
    return acc


def mean_explanation(network: Network, pixels: np.ndarray, labels: np.ndarray) -> Explanation:
    """`network.explain_batch` of uint8 images `pixels` (B, 28, 28) or (B, 784) and `labels`,
    computed CHUNK examples at a time (every field is a mean, so the chunks' means weighted by
    their sizes give the whole batch's)."""
    count = len(labels)
    if count == 0 or len(pixels) != count:
        raise ValueError(f"{len(pixels)} images and {count} labels: need the same, at least 1")
    sums: dict[str, list[np.ndarray]] = {}
    for start in range(0, count, CHUNK):
        rows = slice(start, min(start + CHUNK, count))
        part = network.explain_batch(to_inputs(pixels[rows]), labels[rows].astype(np.int64))
        weight = part.count / count
        for name, arrays in _fields(part).items():
            sums[name] = _weighted_sum(sums.get(name), arrays, weight)
    dtype = network.dtype
    out = {name: [a.astype(dtype) for a in arrays] for name, arrays in sums.items()}
    return Explanation(
        count=count,
        zs=out["zs"],
        activations=out["activations"],
        probabilities=out["probabilities"][0],
        digit=None,
        label=None,
        cost=float(out["cost"][0][0]),
        cost_terms=out["cost_terms"][0],
        grad_activations=out["grad_activations"],
        grad_biases=out["grad_biases"],
        grad_weights=out["grad_weights"],
    )


def _fields(e: Explanation) -> dict[str, list[np.ndarray]]:
    return {
        "zs": e.zs,
        "activations": e.activations,
        "probabilities": [e.probabilities],
        "cost": [np.array([e.cost])],
        "cost_terms": [e.cost_terms],
        "grad_activations": e.grad_activations,
        "grad_biases": e.grad_biases,
        "grad_weights": e.grad_weights,
    }


@dataclass(frozen=True)
class Descent:
    """Gradient descent on one example: its label and the explanation before the first step,
    then after each step."""

    label: int
    states: list[Explanation]


def descend(
    network: Network, x: np.ndarray, label: int | None, learning_rate: float, steps: int
) -> Descent:
    """`steps` SGD steps on the one example x (label: default the prediction), on a scratch
    copy of `network`, which is never written."""
    scratch = network.copy()
    first = scratch.explain(x, label)
    used = first.label if label is None else label
    assert used is not None  # explain reports the label it used
    optimizer = SGD(learning_rate)
    states = [first]
    target = np.array([used])
    for _ in range(steps):
        scratch.train_step(x.reshape(1, -1), target, optimizer)
        states.append(scratch.explain(x, used))
    return Descent(used, states)

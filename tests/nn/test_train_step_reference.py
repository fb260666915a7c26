"""`Network.train_step` (the preallocated, `out=`-everywhere fast path) against a plain step.

The reference below is written from the maths in app/nn/network.py's docstring and the
optimisers' textbook updates, with fresh arrays and no shared code: z, a, δ and ∂C/∂θ per
layer, the derivative computed from z (not from a as the network does), the mean cost, then
SGD / momentum / Adam with L2 on the weights. It runs several steps (so momentum and Adam
carry state), with two batch sizes (the network keeps scratch buffers per batch size) and a
learning rate that changes between steps.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

from app.nn import Network, make_optimizer

SIZES = [12, 7, 5, 4]  # two hidden layers of different widths, as in 784-16-16-10 but smaller
BATCHES = [6, 6, 3, 6, 1, 6]  # the scratch buffers of one size are reused, another size mixes in
LEARNING_RATES = {"sgd": 0.5, "momentum": 0.1, "adam": 0.01}
MOMENTUM, BETA1, BETA2, EPS = 0.9, 0.9, 0.999, 1e-8


def _hidden_prime(activation: str, z: np.ndarray) -> np.ndarray:
    if activation == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return s * (1.0 - s)
    if activation == "tanh":
        return 1.0 - np.tanh(z) ** 2
    return (z > 0).astype(z.dtype)


def _reference_gradients(
    forward: Callable,
    weights: list[np.ndarray],
    biases: list[np.ndarray],
    x: np.ndarray,
    labels: np.ndarray,
    activation: str,
    cost: str,
) -> tuple[float, int, list[np.ndarray], list[np.ndarray]]:
    """(mean cost, number right, ∂C/∂W_l, ∂C/∂b_l), every layer written out."""
    batch = len(x)
    zs, outputs = forward(weights, biases, activation, cost, x)
    acts, a = [x, *outputs], outputs[-1]
    y = np.zeros_like(a)
    y[np.arange(batch), labels] = 1.0
    if cost == "quadratic":
        value = float(np.mean(0.5 * np.sum((a - y) ** 2, axis=1)))
        delta = (a - y) * a * (1.0 - a) / batch
    else:
        value = float(np.mean(-np.log(a[np.arange(batch), labels])))
        delta = (a - y) / batch
    right = int(np.sum(np.argmax(a, axis=1) == labels))
    grad_w: list[np.ndarray] = [np.empty(0)] * len(weights)
    grad_b: list[np.ndarray] = [np.empty(0)] * len(weights)
    for layer in range(len(weights) - 1, -1, -1):
        grad_w[layer] = delta.T @ acts[layer]
        grad_b[layer] = delta.sum(axis=0)
        if layer > 0:
            delta = (delta @ weights[layer]) * _hidden_prime(activation, zs[layer - 1])
    return value, right, grad_w, grad_b


class _ReferenceOptimizer:
    """SGD, momentum and Adam over lists of arrays, from their textbook definitions."""

    def __init__(self, name: str, l2: float) -> None:
        self.name, self.l2, self.t = name, l2, 0
        self.m: list[np.ndarray] | None = None
        self.v: list[np.ndarray] | None = None

    def step(self, params: list[np.ndarray], grads: list[np.ndarray], n_weights: int, lr: float):
        # L2: (l2/2)·Σw² added to the cost, for the weights (the first n_weights arrays) only.
        grads = [
            g + self.l2 * p if i < n_weights else g
            for i, (p, g) in enumerate(zip(params, grads, strict=True))
        ]
        if self.m is None or self.v is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.t += 1
        new = []
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            if self.name == "sgd":
                new.append(p - lr * g)
            elif self.name == "momentum":
                self.v[i] = MOMENTUM * self.v[i] - lr * g
                new.append(p + self.v[i])
            else:
                self.m[i] = BETA1 * self.m[i] + (1 - BETA1) * g
                self.v[i] = BETA2 * self.v[i] + (1 - BETA2) * g * g
                m_hat = self.m[i] / (1 - BETA1**self.t)
                v_hat = self.v[i] / (1 - BETA2**self.t)
                new.append(p - lr * m_hat / (np.sqrt(v_hat) + EPS))
        return new


def _run_both(
    forward: Callable, activation: str, cost: str, optimizer: str, l2: float, dtype: type
):
    """Train our network and the reference side by side; yield what each step returned."""
    rng = np.random.default_rng(7)
    net = Network(SIZES, activation, cost, seed=3, dtype=dtype)
    for b in net.biases:
        b[...] = rng.normal(0, 0.3, b.shape)  # non-zero biases, so their gradient path shows
    weights = [w.astype(np.float64) for w in net.weights]
    biases = [b.astype(np.float64) for b in net.biases]
    opt = make_optimizer(optimizer, LEARNING_RATES[optimizer], l2=l2, momentum=MOMENTUM)
    reference = _ReferenceOptimizer(optimizer, l2)
    for step, batch in enumerate(BATCHES):
        x = rng.random((batch, SIZES[0])).astype(dtype)
        labels = rng.integers(0, SIZES[-1], batch)
        lr = LEARNING_RATES[optimizer] * (1.0 if step < 3 else 0.5)  # a schedule's change
        opt.learning_rate = lr
        expected_cost, expected_right, grad_w, grad_b = _reference_gradients(
            forward, weights, biases, x.astype(np.float64), labels, activation, cost
        )
        cost_value, right = net.train_step(x, labels, opt)
        updated = reference.step(weights + biases, grad_w + grad_b, len(weights), lr)
        weights, biases = updated[: len(weights)], updated[len(weights) :]
        yield (
            net,
            (cost_value, right),
            (expected_cost, expected_right),
            grad_w + grad_b,
            weights + biases,
        )


CASES = list(
    itertools.product(
        ["sigmoid", "relu", "tanh"], ["quadratic", "cross_entropy"], ["sgd", "momentum", "adam"]
    )
)


@pytest.mark.parametrize(("activation", "cost", "optimizer"), CASES)
@pytest.mark.parametrize("l2", [0.0, 0.05])
def test_train_step_equals_the_plain_reference_step_in_float64(
    activation: str, cost: str, optimizer: str, l2: float, reference_forward: Callable
) -> None:
    """In float64 the two differ only by the order of floating-point operations."""
    for net, got, expected, grads, params in _run_both(
        reference_forward, activation, cost, optimizer, l2, np.float64
    ):
        assert got[0] == pytest.approx(expected[0], rel=1e-12)
        assert got[1] == expected[1]
        for ours, theirs in zip(net.grad_weights + net.grad_biases, grads, strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-14)
        for ours, theirs in zip(net.weights + net.biases, params, strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize(("activation", "cost", "optimizer"), CASES)
def test_float32_train_step_equals_the_reference_up_to_float32_rounding(
    activation: str, cost: str, optimizer: str, reference_forward: Callable
) -> None:
    """The float32 network against the float64 reference: float32 rounding apart, the same.

    Tolerances: a float32 value carries ~6e-8 relative error per operation; through a few
    layers and six steps the parameters agree to ~1e-5 of the learning rate's step size.
    """
    lr = LEARNING_RATES[optimizer]
    for net, got, expected, grads, params in _run_both(
        reference_forward, activation, cost, optimizer, 0.05, np.float32
    ):
        assert net.params.dtype == np.float32
        assert got[0] == pytest.approx(expected[0], rel=1e-5)
        for ours, theirs in zip(net.grad_weights + net.grad_biases, grads, strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
        for ours, theirs in zip(net.weights + net.biases, params, strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-4 * lr)

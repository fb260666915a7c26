"""app/nn/lesson.py: a sample's mean computed in chunks is the whole batch's mean."""

from __future__ import annotations

import numpy as np

from app.nn import lesson
from app.nn.network import Network


def test_chunked_mean_equals_one_batch(monkeypatch) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (2500, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 2500)
    net = Network([784, 20, 10], "relu", "cross_entropy", seed=3)
    whole = net.explain_batch(pixels.reshape(2500, -1).astype(np.float32) / 255, labels)
    monkeypatch.setattr(lesson, "CHUNK", 700)  # 4 chunks, the last one short
    chunked = lesson.mean_explanation(net, pixels, labels)
    assert chunked.count == 2500
    assert np.isclose(chunked.cost, whole.cost, rtol=1e-5)
    for name in ("zs", "activations", "grad_activations", "grad_biases", "grad_weights"):
        for a, b in zip(getattr(chunked, name), getattr(whole, name), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(chunked.probabilities, whole.probabilities, rtol=1e-5)
    np.testing.assert_allclose(chunked.cost_terms, whole.cost_terms, rtol=1e-4, atol=1e-7)


def test_descent_leaves_the_network_and_lowers_the_cost() -> None:
    net = Network([784, 16, 10], "sigmoid", "quadratic", seed=4)
    before = net.params.copy()
    x = np.zeros(784, np.float32)
    x[300:400] = 1.0
    result = lesson.descend(net, x, 3, 1.0, 5)
    assert result.label == 3 and len(result.states) == 6
    assert result.states[-1].cost < result.states[0].cost
    np.testing.assert_array_equal(net.params, before)

"""The dreams (app/nn/dreams.py) on the real shipped models, and Network.input_gradient against
a NumPy forward pass written here (not imported from app.nn) by finite differences."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.nn.dreams import dream
from app.nn.network import Network
from app.nn.serialize import load_model
from app.paths import SHIPPED_MODELS_DIR


def _log_probability(z: np.ndarray, cost: str, target: int) -> float:
    """log p_target with p as the model reports it: sigmoids normalised by their sum for the
    quadratic cost, softmax for cross-entropy."""
    if cost == "quadratic":
        s = 1 / (1 + np.exp(-z))
        return float(np.log(s[target] / s.sum()))
    return float(z[target] - z.max() - np.log(np.exp(z - z.max()).sum()))


def _npz(name: str) -> tuple[list, list, dict]:
    with np.load(SHIPPED_MODELS_DIR / f"{name}.npz", allow_pickle=False) as f:
        meta = json.loads(bytes(f["meta"]).decode())
        n = len([k for k in f.files if k.startswith("W")])
        ws = [f[f"W{k}"].astype(np.float64) for k in range(n)]
        bs = [f[f"b{k}"].astype(np.float64) for k in range(n)]
    return ws, bs, meta


def _total_variation(images: np.ndarray) -> np.ndarray:
    img = images.reshape(-1, 28, 28)
    return np.abs(np.diff(img, axis=1)).sum((1, 2)) + np.abs(np.diff(img, axis=2)).sum((1, 2))


@pytest.mark.parametrize(
    ("activation", "cost", "objective"),
    [
        ("sigmoid", "quadratic", "logit"),
        ("sigmoid", "quadratic", "log_probability"),
        ("relu", "cross_entropy", "logit"),
        ("tanh", "cross_entropy", "log_probability"),
    ],
)
def test_input_gradient_matches_finite_differences(
    activation: str, cost: str, objective: str, reference_forward
) -> None:
    net = Network([12, 7, 5, 4], activation, cost, seed=3, dtype=np.float64)
    rng = np.random.default_rng(4)
    for b in net.biases:
        b[...] = rng.normal(size=b.shape)
    ws = [w.copy() for w in net.weights]
    bs = [b.copy() for b in net.biases]
    x = rng.random((3, 12))
    targets = np.array([0, 3, 2])

    def f(row: np.ndarray, t: int) -> float:
        z = reference_forward(ws, bs, activation, None, row[None, :])[0][-1][0]
        return float(z[t]) if objective == "logit" else _log_probability(z, cost, t)

    values, grads = net.input_gradient(x, targets, objective)
    assert grads.shape == x.shape
    h = 1e-6
    for b, t in enumerate(targets):
        assert values[b] == pytest.approx(f(x[b], int(t)), rel=1e-10, abs=1e-12)
        numeric = np.empty(12)
        for i in range(12):
            up, down = x[b].copy(), x[b].copy()
            up[i] += h
            down[i] -= h
            numeric[i] = (f(up, int(t)) - f(down, int(t))) / (2 * h)
        np.testing.assert_allclose(grads[b], numeric, rtol=1e-5, atol=1e-8)


def test_input_gradient_writes_nothing_of_the_network() -> None:
    net = Network([784, 16, 10], seed=1)
    before = net.params.copy(), net.grads.copy()
    net.input_gradient(np.full((10, 784), 0.1), np.arange(10))
    assert np.array_equal(net.params, before[0]) and np.array_equal(net.grads, before[1])


@pytest.mark.parametrize("name", ["3b1b", "accurate"])
def test_each_dream_is_its_digit_to_the_model(name: str, reference_forward) -> None:
    network, _ = load_model(SHIPPED_MODELS_DIR / f"{name}.npz")
    ws, bs, meta = _npz(name)
    result = dream(network)
    images = result.images.astype(np.float64)
    assert images.shape == (10, 784)
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert list(result.digits) == list(range(10))

    # Measured on the model's own weights, in NumPy here: every dream raises its digit's z far
    # above where the near-blank start had it (the shipped models: by 8 to 32).
    def logits(x: np.ndarray) -> np.ndarray:
        return reference_forward(ws, bs, meta["activation"], None, x)[0][-1]

    start = np.full((10, 784), 1 / (1 + np.exp(3.0)))  # the documented start, without noise
    z_start = logits(start)[np.arange(10), np.arange(10)]
    z = logits(images)
    rise = z[np.arange(10), np.arange(10)] - z_start
    assert rise.min() > 5.0, rise
    # ... and the model calls it that digit (10 of 10 on both shipped models; the bar is 9).
    hits = int((z.argmax(1) == np.arange(10)).sum())
    assert hits >= 9, z.argmax(1)
    assert (result.probabilities.argmax(1) == z.argmax(1)).all()
    # The images have ink, not a blank: a digit's worth of it at least.
    assert (images.sum(1) > 20).all(), images.sum(1)


def test_the_penalties_make_the_dreams_smooth() -> None:
    network, _ = load_model(SHIPPED_MODELS_DIR / "3b1b.npz")
    smooth = dream(network, steps=150)
    raw = dream(network, steps=150, l2=0.0, smoothness=0.0)
    # Unregularised ascent ends in speckle (mean total variation ~400 on 3b1b); the penalties
    # bring it down to ~60.
    assert _total_variation(smooth.images).mean() < 0.4 * _total_variation(raw.images).mean()


def test_dreams_are_deterministic_for_a_seed_and_report_progress() -> None:
    network, _ = load_model(SHIPPED_MODELS_DIR / "3b1b.npz")
    seen: list[tuple[int, int]] = []
    first = dream(
        network, steps=60, seed=7, on_progress=lambda done, total: seen.append((done, total))
    )
    again = dream(network, steps=60, seed=7)
    other = dream(network, steps=60, seed=8)
    assert np.array_equal(first.images, again.images)
    assert not np.array_equal(first.images, other.images)
    assert seen == [(25, 60), (50, 60), (60, 60)]
    assert first.steps == 60


def test_dream_refuses_bad_arguments() -> None:
    network = Network([784, 8, 10], seed=0)
    with pytest.raises(ValueError, match="steps"):
        dream(network, steps=0)
    with pytest.raises(ValueError, match="penalty"):
        dream(network, l2=-1.0)
    with pytest.raises(ValueError, match="28"):
        dream(Network([12, 4, 10], seed=0))
    for digits in (np.array([10]), np.array([], int), np.array([0.5])):
        with pytest.raises(ValueError, match="digits"):
            dream(network, digits=digits)

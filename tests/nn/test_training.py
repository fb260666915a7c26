"""Training: optimisers against textbook formulas, L2, learning-rate changes, divergence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.nn import Adam, Momentum, Network, make_optimizer

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
XOR_Y = np.array([0, 1, 1, 0])


@pytest.mark.parametrize(
    ("optimizer", "learning_rate", "activation", "cost"),
    [
        ("sgd", 3.0, "sigmoid", "quadratic"),
        ("sgd", 0.5, "tanh", "cross_entropy"),
        ("momentum", 0.5, "sigmoid", "quadratic"),
        ("momentum", 0.5, "relu", "cross_entropy"),
        ("adam", 0.05, "sigmoid", "quadratic"),
        ("adam", 0.05, "relu", "cross_entropy"),
        ("adam", 0.05, "tanh", "quadratic"),
    ],
)
def test_xor_trains_to_near_zero_cost(
    optimizer: str, learning_rate: float, activation: str, cost: str
) -> None:
    """XOR is not linearly separable: this needs the hidden layer and working backprop."""
    net = Network([2, 8, 2], activation, cost, seed=1)
    opt = make_optimizer(optimizer, learning_rate)
    first, _ = net.train_step(XOR_X, XOR_Y, opt)
    for _ in range(1500):
        last, n_correct = net.train_step(XOR_X, XOR_Y, opt)
    assert last < 0.01 < first
    assert n_correct == 4
    np.testing.assert_array_equal(net.predict(XOR_X), XOR_Y)


def test_train_step_reports_pre_step_cost_and_accuracy() -> None:
    net = Network([20, 8, 5], "relu", "cross_entropy", seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 20), dtype=np.float32), rng.integers(0, 5, 64)
    cost, dws, dbs = net.gradients(x, y)
    expected_correct = int(np.sum(net.predict(x) == y))
    step_cost, n_correct = net.train_step(x, y, make_optimizer("sgd", 0.1))
    assert step_cost == pytest.approx(cost)
    assert n_correct == expected_correct
    for g, expected in zip(net.grad_weights + net.grad_biases, dws + dbs, strict=True):
        np.testing.assert_allclose(g, expected, rtol=1e-6)


def _one_step(net: Network, opt_name: str, lr: float, l2: float) -> tuple[Network, np.ndarray]:
    clone = net.copy()
    rng = np.random.default_rng(1)
    x, y = rng.random((8, net.sizes[0])), rng.integers(0, net.sizes[-1], 8)
    _, dws, dbs = net.gradients(x, y)
    clone.train_step(x, y, make_optimizer(opt_name, lr, l2=l2))
    return clone, np.concatenate([g.ravel() for g in dws + dbs])


def test_sgd_step_is_minus_learning_rate_times_gradient_plus_l2_on_weights_only() -> None:
    net = Network([6, 5, 3], seed=0, dtype=np.float64)
    for b in net.biases:
        b += 0.3  # non-zero biases, to show they are not decayed
    lr, l2 = 0.1, 0.5
    stepped, grad = _one_step(net, "sgd", lr, l2)
    decay = np.concatenate([l2 * w.ravel() for w in net.weights] + [0 * b for b in net.biases])
    np.testing.assert_allclose(stepped.params, net.params - lr * (grad + decay), rtol=1e-12)
    plain, _ = _one_step(net, "sgd", lr, 0.0)
    for b_l2, b_plain in zip(stepped.biases, plain.biases, strict=True):
        np.testing.assert_array_equal(b_l2, b_plain)


def _reference_momentum(theta, grads, lrs, l2, mu, n_weights):
    v = np.zeros_like(theta)
    for g, lr in zip(grads, lrs, strict=True):
        g = g.copy()
        g[:n_weights] += l2 * theta[:n_weights]
        v = mu * v - lr * g
        theta = theta + v
    return theta


def _reference_adam(theta, grads, lrs, l2, n_weights, b1=0.9, b2=0.999, eps=1e-8):
    """Algorithm 1 of Kingma & Ba (2015), written out literally."""
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    for t, (g, lr) in enumerate(zip(grads, lrs, strict=True), start=1):
        g = g.copy()
        g[:n_weights] += l2 * theta[:n_weights]
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_optimizers_match_their_textbook_update(name: str) -> None:
    """Several steps with a learning rate and L2 that change between steps."""
    rng = np.random.default_rng(0)
    n, n_weights = 50, 30
    theta0 = rng.normal(size=n)
    grads = [rng.normal(size=n) * 10.0**k for k in (-3, 0, 1, -1, 0)]
    lrs = [0.1, 0.1, 0.05, 0.2, 0.01]
    opt = Adam(lrs[0], l2=0.01) if name == "adam" else Momentum(lrs[0], l2=0.01, momentum=0.8)
    theta = theta0.copy()
    for g, lr in zip(grads, lrs, strict=True):
        opt.learning_rate = lr
        opt.step(theta, g, n_weights)
    if name == "adam":
        expected = _reference_adam(theta0, grads, lrs, 0.01, n_weights)
    else:
        expected = _reference_momentum(theta0, grads, lrs, 0.01, 0.8, n_weights)
    np.testing.assert_allclose(theta, expected, rtol=1e-10, atol=1e-12)
    assert opt.steps == 5


def test_learning_rate_change_takes_effect_on_the_next_step() -> None:
    net = Network([6, 5, 3], seed=0, dtype=np.float64)
    rng = np.random.default_rng(2)
    x, y = rng.random((8, 6)), rng.integers(0, 3, 8)
    opt = make_optimizer("sgd", 0.1)
    for lr in (0.1, 0.4, 0.0125):
        opt.learning_rate = lr
        before = net.params.copy()
        _, dws, dbs = net.gradients(x, y)
        net.train_step(x, y, opt)
        grad = np.concatenate([g.ravel() for g in dws + dbs])
        np.testing.assert_allclose(net.params - before, -lr * grad, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_optimizer_arguments_are_validated(name: str) -> None:
    with pytest.raises(ValueError, match="learning_rate"):
        make_optimizer(name, -1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        make_optimizer(name, math.nan)
    with pytest.raises(ValueError, match="l2"):
        make_optimizer(name, 0.1, l2=-0.1)
    opt = make_optimizer(name, 0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = math.inf
    assert opt.learning_rate == 0.1
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer("rmsprop", 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="momentum"):
        make_optimizer("momentum", 0.1, momentum=1.0)


def test_optimizer_state_restarts_for_a_different_network() -> None:
    opt = make_optimizer("adam", 0.1)
    a, b = np.zeros(4), np.zeros(6)
    opt.step(a, np.ones(4), 2)
    opt.step(b, np.ones(6), 3)  # a different size: fresh moments, t = 1 again
    np.testing.assert_allclose(b, -0.1, rtol=1e-6)  # Adam's first step is -lr·sign(g)
    assert opt.steps == 1


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_divergence_leaves_the_last_finite_weights(optimizer: str) -> None:
    """A huge learning rate blows the ReLU net up; the step that sees NaN/inf changes nothing."""
    net = Network([20, 16, 16, 5], "relu", "cross_entropy", seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 20), dtype=np.float32), rng.integers(0, 5, 16)
    opt = make_optimizer(optimizer, 1e15)
    with np.errstate(all="ignore"):
        for _ in range(50):
            before = net.params.copy()
            cost, _ = net.train_step(x, y, opt)
            if not math.isfinite(cost):
                break
        else:
            pytest.fail("the network never diverged")
    np.testing.assert_array_equal(net.params, before)
    assert np.isfinite(net.params).all()


def test_nan_weights_give_a_nan_cost_and_no_update() -> None:
    net = Network([4, 3, 2], seed=0)
    net.weights[0][0, 0] = np.nan
    before = net.params.copy()
    cost, _ = net.train_step(np.ones((2, 4)), np.array([0, 1]), make_optimizer("adam", 0.1))
    assert math.isnan(cost)
    np.testing.assert_array_equal(net.params, before)  # NaN compares equal here (same slot)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_decaying_optimizer_state_never_goes_subnormal(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A weight whose gradient stays 0 (an always-blank pixel) must not leave its momentum to
    decay through the subnormal floats, where arithmetic is ~100x slower."""
    from app.nn import optim

    def run(flush_every: int) -> tuple[np.ndarray, int]:
        monkeypatch.setattr(optim, "FLUSH_EVERY", flush_every)
        opt = make_optimizer(name, 1e-3)  # type: ignore[arg-type]
        params = np.ones(4, np.float32)
        tiny, worst = np.finfo(np.float32).tiny, 0
        for step in range(1500):
            grads = np.array([1, 0.5, 0, 0] if step == 0 else [0, 0, 0, 0.1], np.float32)
            opt.step(params, grads, 4)
            for state in opt._state():
                subnormal = (state != 0) & (np.abs(state) < tiny)
                worst = max(worst, int(np.count_nonzero(subnormal)))
        return params, worst

    flushed, worst = run(optim.FLUSH_EVERY)
    assert worst == 0
    unflushed, worst_without = run(10**9)
    assert worst_without > 0  # the scenario does produce subnormals without the flush
    np.testing.assert_array_equal(flushed, unflushed)  # and flushing changes no weight

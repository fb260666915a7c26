"""Network: shapes, costs against their definitions, backprop against finite differences."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from app.nn import Network, make_optimizer

PAIRS = list(itertools.product(["sigmoid", "relu", "tanh"], ["quadratic", "cross_entropy"]))


def _batch(sizes: list[int], n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, sizes[0])), rng.integers(0, sizes[-1], n)


def _reference_cost(net: Network, x: np.ndarray, y: np.ndarray) -> float:
    """The cost from its definition, via the public forward pass (a separate code path)."""
    out = net.forward(x).activations[-1].astype(np.float64)
    onehot = np.eye(net.sizes[-1])[y]
    if net.cost == "quadratic":
        return float(np.mean(0.5 * np.sum((out - onehot) ** 2, axis=1)))
    return float(np.mean(-np.log(out[np.arange(len(y)), y])))


def test_forward_returns_every_layer_with_the_contract_shapes() -> None:
    net = Network([784, 16, 16, 10], seed=0)
    x, _ = _batch(net.sizes, 5)
    fwd = net.forward(x.astype(np.float32))
    assert [z.shape for z in fwd.zs] == [(5, 16), (5, 16), (5, 10)]
    assert [a.shape for a in fwd.activations] == [(5, 784), (5, 16), (5, 16), (5, 10)]
    assert all(a.dtype == np.float32 for a in fwd.activations + fwd.zs)
    # a_l = σ(z_l), z_l = a_{l-1} W_l^T + b_l, checked in float64 from the definitions.
    w, b = net.weights[1].astype(np.float64), net.biases[1].astype(np.float64)
    z = fwd.activations[1].astype(np.float64) @ w.T + b
    np.testing.assert_allclose(fwd.zs[1], z, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fwd.activations[2], 1 / (1 + np.exp(-z)), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(("activation", "cost"), PAIRS)
def test_predict_proba_rows_are_distributions(activation: str, cost: str) -> None:
    net = Network([784, 32, 10], activation, cost, seed=1)
    x, _ = _batch(net.sizes, 7)
    p = net.predict_proba(x)
    assert p.shape == (7, 10)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    out = net.forward(x).activations[-1]
    np.testing.assert_allclose(p, out / out.sum(axis=1, keepdims=True), rtol=1e-5)
    np.testing.assert_array_equal(net.predict(x), np.argmax(out, axis=1))


def test_predict_proba_of_all_zero_sigmoid_outputs_is_uniform() -> None:
    net = Network([3, 2], seed=0)
    net.weights[0][...] = 0
    net.biases[0][...] = -1e4  # every output saturates to exactly 0
    np.testing.assert_allclose(net.predict_proba(np.ones(3)), [[0.5, 0.5]])


def test_single_sample_is_a_batch_of_one() -> None:
    net = Network([4, 3], seed=0)
    x = np.arange(4.0)
    np.testing.assert_array_equal(net.predict_proba(x), net.predict_proba(x[None]))


@pytest.mark.parametrize(("activation", "cost"), PAIRS)
def test_gradients_match_finite_differences(activation: str, cost: str) -> None:
    """Backprop against central differences of the cost for every parameter, in float64."""
    sizes = [5, 4, 3, 3]
    net = Network(sizes, activation, cost, seed=3, dtype=np.float64)
    for b in net.biases:  # non-zero biases, so their gradients are exercised in general position
        b[...] = np.random.default_rng(4).normal(0, 0.5, b.shape)
    x, y = _batch(sizes, 6, seed=5)
    cost_value, dws, dbs = net.gradients(x, y)
    assert cost_value == pytest.approx(_reference_cost(net, x, y), rel=1e-12)

    analytic = np.concatenate([g.ravel() for g in dws + dbs])
    numeric = np.empty_like(analytic)
    h = 1e-6
    i = 0
    for view in (p.reshape(-1) for p in net.weights + net.biases):
        for j in range(view.size):
            saved = view[j]
            view[j] = saved + h
            up = _reference_cost(net, x, y)
            view[j] = saved - h
            down = _reference_cost(net, x, y)
            view[j] = saved
            numeric[i] = (up - down) / (2 * h)
            i += 1
    assert i == net.num_parameters == 5 * 4 + 4 + 4 * 3 + 3 + 3 * 3 + 3
    rel = np.linalg.norm(analytic - numeric) / np.linalg.norm(analytic + numeric)
    assert rel < 1e-4
    assert np.abs(analytic - numeric).max() < 1e-6


@pytest.mark.parametrize(("activation", "cost"), PAIRS)
def test_float32_gradients_agree_with_float64(activation: str, cost: str) -> None:
    sizes = [784, 16, 16, 10]
    net32 = Network(sizes, activation, cost, seed=0)
    net64 = Network(sizes, activation, cost, seed=0, dtype=np.float64)
    net64.params[...] = net32.params
    # ReLU has a kink at 0: where a pre-activation is within float32 rounding of 0 the two
    # precisions may take different sides and both gradients are right. Use a batch with no
    # hidden pre-activation that close to the kink.
    for seed in range(100):
        x, y = _batch(sizes, 32, seed)
        if min(float(np.abs(z).min()) for z in net64.forward(x).zs[:-1]) > 1e-4:
            break
    else:
        raise AssertionError("no batch clear of the kink")
    c32, dw32, db32 = net32.gradients(x.astype(np.float32), y)
    c64, dw64, db64 = net64.gradients(x, y)
    assert c32 == pytest.approx(c64, rel=1e-5)
    for g32, g64 in zip(dw32 + db32, dw64 + db64, strict=True):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-6 * np.abs(g64).max())


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_initialisation_is_scaled_to_the_activation(activation: str) -> None:
    net = Network([784, 400, 200, 10], activation, "cross_entropy", seed=0)
    std = [float(w.std()) for w in net.weights]
    glorot = [np.sqrt(2 / (784 + 400)), np.sqrt(2 / (400 + 200)), np.sqrt(2 / (200 + 10))]
    he = [np.sqrt(2 / 784), np.sqrt(2 / 400), glorot[2]]  # the output layer has no ReLU
    expected = he if activation == "relu" else glorot
    np.testing.assert_allclose(std, expected, rtol=0.05)
    assert all(float(np.abs(b).max()) == 0 for b in net.biases)


def test_seed_makes_initialisation_reproducible() -> None:
    a, b, c = (Network([10, 5, 3], seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)


def test_parameters_live_in_one_flat_buffer() -> None:
    net = Network([6, 4, 3], seed=0)
    assert net.num_parameters == 6 * 4 + 4 + 4 * 3 + 3 == net.params.size
    assert [w.shape for w in net.weights] == [(4, 6), (3, 4)]
    assert [b.shape for b in net.biases] == [(4,), (3,)]
    net.weights[1][2, 3] = 42.0
    assert 42.0 in net.params  # a view, not a copy
    assert all(w.dtype == np.float32 for w in net.weights + net.biases)


def test_copy_is_independent() -> None:
    net = Network([6, 4, 3], "tanh", "cross_entropy", seed=0)
    clone = net.copy()
    assert (
        clone.config()
        == net.config()
        == {
            "sizes": [6, 4, 3],
            "activation": "tanh",
            "cost": "cross_entropy",
        }
    )
    np.testing.assert_array_equal(clone.params, net.params)
    x, y = _batch(net.sizes, 4)
    clone.train_step(x, y, make_optimizer("sgd", 0.5))
    assert not np.array_equal(clone.params, net.params)
    clone.weights[0][0, 0] = 99
    assert net.weights[0][0, 0] != 99


def test_deepcopy_keeps_weights_as_views_of_the_parameter_buffer() -> None:
    import copy

    net = Network([6, 4, 3], seed=0)
    clone = copy.deepcopy(net)
    np.testing.assert_array_equal(clone.params, net.params)
    x, y = _batch(net.sizes, 4)
    before = clone.weights[0].copy()
    clone.train_step(x, y, make_optimizer("sgd", 0.5))
    assert not np.array_equal(clone.weights[0], before)  # the update reached the weight views
    np.testing.assert_array_equal(net.weights[0], before)


def test_from_parameters_builds_the_given_network() -> None:
    w = [np.ones((3, 2)), np.full((1, 3), 2.0)]
    b = [np.zeros(3), np.array([-1.0])]
    net = Network.from_parameters(w, b, "relu", "quadratic")
    assert net.sizes == [2, 3, 1]
    z = np.maximum(np.array([[1.0, 2.0]]) @ w[0].T, 0) @ w[1].T - 1  # = 17
    np.testing.assert_allclose(net.forward(np.array([1.0, 2.0])).zs[-1], z)
    with pytest.raises(ValueError, match="layer 1"):
        Network.from_parameters(w, [b[0], np.zeros(2)])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sizes": [784]}, "at least an input and an output"),
        ({"sizes": [784, 0, 10]}, "layer sizes must be integers"),
        ({"sizes": [784, 2.5, 10]}, "layer sizes must be integers"),
        ({"sizes": "abc"}, "sizes must be a list"),
        ({"sizes": [4, 2], "activation": "swish"}, "unknown activation"),
        ({"sizes": [4, 2], "cost": "hinge"}, "unknown cost"),
        ({"sizes": [4, 2], "dtype": np.int32}, "dtype must be float32 or float64"),
    ],
)
def test_bad_construction_arguments_are_clear_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Network(**kwargs)


def test_bad_inputs_are_clear_errors() -> None:
    net = Network([4, 3], seed=0)
    opt = make_optimizer("sgd", 0.1)
    x = np.zeros((2, 4), np.float32)
    with pytest.raises(ValueError, match=r"x must have shape \(B, 4\)"):
        net.predict_proba(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="NaN"):
        net.predict_proba(np.full((1, 4), np.nan))
    with pytest.raises(ValueError, match="x must have shape"):
        net.train_step(np.zeros((2, 5)), np.array([0, 1]), opt)
    with pytest.raises(ValueError, match="integer labels"):
        net.train_step(x, np.array([0.0, 1.0]), opt)
    with pytest.raises(ValueError, match="integer labels"):
        net.train_step(x, np.array([0, 1, 2]), opt)
    with pytest.raises(ValueError, match=">= 0"):
        net.train_step(x, np.array([0, -1]), opt)
    with pytest.raises(ValueError, match="< 3"):
        net.gradients(x, np.array([0, 3]))


def test_set_blas_threads_changes_the_openblas_thread_count() -> None:
    import ctypes
    import glob
    import os

    from app.nn import set_blas_threads

    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*"))
    getter = None
    for path in libs:
        getter = getattr(ctypes.CDLL(path), "scipy_openblas_get_num_threads64_", None) or getter
    if getter is None:
        pytest.skip("NumPy without a bundled scipy-openblas")
    before = getter()
    try:
        assert set_blas_threads(1)
        assert getter() == 1
        assert set_blas_threads(2)
        assert getter() == 2
    finally:
        set_blas_threads(before)
    with pytest.raises(ValueError, match=">= 1"):
        set_blas_threads(0)

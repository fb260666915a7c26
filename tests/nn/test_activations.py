"""Activation functions: values against their textbook definitions, stability, derivatives."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn import activations as act

Z = np.linspace(-8, 8, 33)


def test_sigmoid_matches_its_definition() -> None:
    np.testing.assert_allclose(act.sigmoid(Z), 1 / (1 + np.exp(-Z)), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_keep_dtype_and_do_not_overflow(dtype: type) -> None:
    z = np.array([-1e4, -100, 0, 100, 1e4], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # warnings -> errors
        s = act.sigmoid(z)
        t = act.tanh(z)
        r = act.relu(z)
    assert s.dtype == t.dtype == r.dtype == dtype
    np.testing.assert_array_equal(s, [0, 0, 0.5, 1, 1])
    np.testing.assert_array_equal(t, [-1, -1, 0, 1, 1])
    np.testing.assert_array_equal(r, [0, 0, 0, 100, 1e4])


def test_sigmoid_does_not_modify_its_argument() -> None:
    z = Z.copy()
    act.sigmoid(z)
    np.testing.assert_array_equal(z, Z)


@pytest.mark.parametrize("name", ["sigmoid", "relu", "tanh"])
def test_derivative_from_output_matches_finite_differences(name: str) -> None:
    z = Z[np.abs(Z) > 0.1]  # keep away from ReLU's kink
    h = 1e-6
    numeric = (act.activate(name, z + h) - act.activate(name, z - h)) / (2 * h)
    out = np.empty_like(z)
    analytic = act.derivative_from_output(name, act.activate(name, z), out)
    assert analytic is out
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_unknown_activation_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        act.activate("swish", Z)


def test_softmax_is_a_stable_distribution() -> None:
    z = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -1000.0], [-1e4, 0.0, 1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = act.softmax(z)
        logp = act.log_softmax(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(p[0], e / e.sum())
    np.testing.assert_allclose(p[1], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(logp[0], np.log(e / e.sum()))
    assert logp[2, 0] == pytest.approx(-2e4)  # finite, where log(p) would be log(0)

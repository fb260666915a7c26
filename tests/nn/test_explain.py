"""Network.explain against a NumPy forward/backward written here, and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn.network import Network


def _reference_cost(forward, ws, bs, activation, cost, x, label) -> tuple[float, list, list]:
    zs, acts = forward(ws, bs, activation, cost, x)
    a = acts[-1]
    y = np.eye(len(a))[label]
    c = 0.5 * np.sum((a - y) ** 2) if cost == "quadratic" else -np.log(a[label])
    return float(c), zs, acts


@pytest.mark.parametrize(
    ("sizes", "activation", "cost"),
    [([12, 5, 4, 3], "sigmoid", "quadratic"), ([12, 6, 3], "tanh", "cross_entropy")],
)
def test_explain_matches_reference_and_finite_differences(
    sizes, activation, cost, reference_forward
) -> None:
    net = Network(sizes, activation, cost, seed=3, dtype=np.float64)
    for b in net.biases:
        b[...] = np.random.default_rng(4).normal(size=b.shape)
    x = np.random.default_rng(5).random(sizes[0])
    label = 1
    ws = [w.copy() for w in net.weights]
    bs = [b.copy() for b in net.biases]
    ref_cost, ref_zs, ref_acts = _reference_cost(
        reference_forward, ws, bs, activation, cost, x, label
    )

    e = net.explain(x, label)
    assert e.label == label and e.count == 1
    assert e.cost == pytest.approx(ref_cost, rel=1e-10)
    assert e.cost_terms.sum() == pytest.approx(ref_cost, rel=1e-10)
    for got, want in zip(e.zs, ref_zs, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10)
    for got, want in zip(e.activations, ref_acts, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10)

    h = 1e-6
    for k in range(len(ws)):
        for i in range(ws[k].shape[0]):
            bp = [b.copy() for b in bs]
            bm = [b.copy() for b in bs]
            bp[k][i] += h
            bm[k][i] -= h
            fd = (
                _reference_cost(reference_forward, ws, bp, activation, cost, x, label)[0]
                - _reference_cost(reference_forward, ws, bm, activation, cost, x, label)[0]
            ) / (2 * h)
            assert e.grad_biases[k][i] == pytest.approx(fd, rel=1e-5, abs=1e-9)
        for i, j in [(0, 0), (ws[k].shape[0] - 1, ws[k].shape[1] - 1), (1, 2)]:
            wp = [w.copy() for w in ws]
            wm = [w.copy() for w in ws]
            wp[k][i, j] += h
            wm[k][i, j] -= h
            fd = (
                _reference_cost(reference_forward, wp, bs, activation, cost, x, label)[0]
                - _reference_cost(reference_forward, wm, bs, activation, cost, x, label)[0]
            ) / (2 * h)
            assert e.grad_weights[k][i, j] == pytest.approx(fd, rel=1e-5, abs=1e-9)
    # ∂C/∂a of the first hidden layer: nudge a_0 directly in the rest of the network.
    a0 = ref_acts[0]
    for i in range(len(a0)):

        def rest(a, i=i):
            c, _, _ = _reference_cost(reference_forward, ws[1:], bs[1:], activation, cost, a, label)
            return c

        ap, am = a0.copy(), a0.copy()
        ap[i] += h
        am[i] -= h
        fd = (rest(ap) - rest(am)) / (2 * h)
        assert e.grad_activations[0][i] == pytest.approx(fd, rel=1e-5, abs=1e-9)


def test_default_label_is_prediction_and_weights_untouched() -> None:
    net = Network([784, 16, 16, 10], seed=2)
    before = net.params.copy()
    x = np.random.default_rng(0).random(784).astype(np.float32)
    e = net.explain(x)
    assert e.label == e.digit == int(np.argmax(net.predict_proba(x)[0]))
    np.testing.assert_array_equal(net.params, before)
    with pytest.raises(ValueError, match="label"):
        net.explain(x, 10)


def test_batch_is_the_mean_of_single_examples() -> None:
    net = Network([20, 7, 4], "relu", "cross_entropy", seed=1, dtype=np.float64)
    rng = np.random.default_rng(1)
    x, y = rng.random((5, 20)), np.array([0, 1, 2, 3, 1])
    batch = net.explain_batch(x, y)
    singles = [net.explain(x[i], int(y[i])) for i in range(5)]
    assert batch.count == 5
    assert batch.cost == pytest.approx(np.mean([s.cost for s in singles]))
    for k in range(2):
        mean_w = np.mean([s.grad_weights[k] for s in singles], axis=0)
        np.testing.assert_allclose(batch.grad_weights[k], mean_w, rtol=1e-10)
        mean_a = np.mean([s.grad_activations[k] for s in singles], axis=0)
        np.testing.assert_allclose(batch.grad_activations[k], mean_a, rtol=1e-10, atol=1e-14)
    cost, _, gb = net.gradients(x, y)
    assert cost == pytest.approx(batch.cost)
    np.testing.assert_allclose(gb[0], batch.grad_biases[0])

"""A fully connected network trained by mini-batch backpropagation, in plain NumPy.

Notation (a batch is a row per sample, B rows):

    a_0 = x                               (B, n_0)   the input, e.g. 784 pixel values in 0..1
    z_l = a_{l-1} @ W_l.T + b_l           (B, n_l)   weighted sums;  W_l (n_l, n_{l-1}), b_l (n_l,)
    a_l = σ(z_l)                          (B, n_l)   for the hidden layers l = 1..L-1
    a_L = sigmoid(z_L)  or  softmax(z_L)             the output layer, depending on the cost

Costs, averaged over the batch (y is the one-hot label):

    quadratic      C = mean_b ½‖a_L - y‖²      (sigmoid outputs, as in 3Blue1Brown's video)
    cross_entropy  C = mean_b -log a_L[label]   (softmax outputs)

Backpropagation (δ_l = ∂C/∂z_l, still per sample, the 1/B of the mean folded into δ_L):

    δ_L = (a_L - y) ⊙ sigmoid'(z_L) / B    quadratic
    δ_L = (a_L - y) / B                    softmax + cross-entropy (the σ' cancels)
    δ_l = (δ_{l+1} @ W_{l+1}) ⊙ σ'(z_l)
    ∂C/∂W_l = δ_l.T @ a_{l-1}              ∂C/∂b_l = Σ_batch δ_l

Speed: all parameters live in one flat buffer (the weights and biases are views into it) and all
gradients in another, so the optimiser updates everything with a few whole-buffer calls; the
training step writes into buffers preallocated per batch size (`out=` everywhere) and so
allocates almost nothing.
"""

from __future__ import annotations

import ctypes
import glob
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from app.nn import activations as act
from app.nn.config import parameter_count
from app.nn.explain import Explanation
from app.nn.optim import Optimizer, aligned_zeros
from app.nn.vocab import COSTS, Activation, Cost

# What `input_gradient` differentiates: an output's weighted sum z_L, or its log-probability.
Objective = Literal["logit", "log_probability"]
OBJECTIVES: tuple[str, ...] = ("logit", "log_probability")

MAX_LAYER_SIZE = 1_000_000
# The training step's ufuncs as module globals (found faster than np.<name>; see
# `_forward_backward` for why they are called with a positional `out`).
_add, _subtract, _multiply, _divide = np.add, np.subtract, np.multiply, np.divide
_exp, _log, _equal, _count_nonzero = np.exp, np.log, np.equal, np.count_nonzero
_INTP_SIZE = np.dtype(np.intp).itemsize
_MAX_CACHED_BATCH_SIZES = 4


@dataclass
class Forward:
    """Everything a forward pass computed, for drawing the network."""

    zs: list[np.ndarray]  # L arrays (B, n_l), l = 1..L: the weighted sums
    activations: list[np.ndarray]  # L+1 arrays: [x, a_1, ..., a_L]


class _Scratch:
    """Buffers for one batch size B, reused by every training step of that size."""

    def __init__(self, sizes: list[int], batch: int, dtype: np.dtype) -> None:
        layers = sizes[1:]
        # a_1 .. a_L and σ'(z_1) .. σ'(z_L) are (B, n_l) views of one flat buffer each, layer
        # after layer, so σ' of every hidden layer is computed in one call over `hidden_*`.
        self.all_acts = aligned_zeros(batch * sum(layers), dtype)
        self.all_derivs = aligned_zeros(batch * sum(layers), dtype)
        self.acts, self.hidden_acts = _layer_views(self.all_acts, batch, layers)
        self.derivs, self.hidden_derivs = _layer_views(self.all_derivs, batch, layers)
        self.deltas = [np.empty((batch, n), dtype) for n in layers]  # δ_1 .. δ_L
        self.deltas_t = [d.T for d in self.deltas]  # (n_l, B) views, made once
        self.delta_flat = self.deltas[-1].ravel()  # δ_L as a vector, for Σ (a_L - y)²
        self.onehot = np.empty((batch, sizes[-1]), dtype)
        self.onehot_flat = self.onehot.ravel()
        self.row = np.empty((batch, 1), dtype)  # softmax row max, then row sum
        self.guess = np.empty(batch, np.intp)  # argmax of each output row
        self.hit = np.empty(batch, np.bool_)  # guess == label
        # Σ over the batch as a matrix-vector product: BLAS is ~4x faster than np.sum(axis=0).
        self.ones = np.ones(batch, dtype)
        self.inverse_batch = np.array(1.0 / batch, dtype)  # 1/B as a 0-d array, see activations


def _layer_views(
    flat: np.ndarray, batch: int, layers: list[int]
) -> tuple[list[np.ndarray], np.ndarray]:
    """(B, n_l) views of `flat` for every layer, and the slice that holds all but the last."""
    views, start = [], 0
    for n in layers:
        views.append(flat[start : start + batch * n].reshape(batch, n))
        start += batch * n
    return views, flat[: start - batch * layers[-1]]


def normalise_rows(a: np.ndarray) -> np.ndarray:
    """Divide each row of output activations `(B, n)` by its sum, in place, so it reads as
    probabilities (a row whose sum is not positive becomes uniform); returns a."""
    total = a.sum(axis=1, keepdims=True)
    empty = total[:, 0] <= 0
    a[empty] = 1.0
    total[empty] = a.shape[1]
    a /= total
    return a


class Network:
    """A multilayer perceptron, e.g. `Network([784, 16, 16, 10])` — the video's network.

    The maths lives here once: `forward` is the inference pass (predict, predict_proba, the
    WebSocket probe, explain's z and a, dreams), and `_forward_into` + `_backward` the training
    pass with scratch buffers (train_step, gradients, explain's ∂C, input_gradient for dreams).

    Threads: `train_step` and `gradients` share scratch buffers, so at most one thread may call
    them at a time; `forward` / `predict_proba` allocate their own arrays, but read the weights
    while a concurrent `train_step` may be writing them (use `copy()` under a lock for that).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: Activation = "sigmoid",
        cost: Cost = "quadratic",
        *,
        seed: int | None = None,
        dtype: type | np.dtype = np.float32,
    ) -> None:
        """Random initial weights suited to the activation (see `_initialise`), zero biases.

        `dtype` is float32 for everything real; float64 exists for the gradient check.
        """
        self._allocate(sizes, activation, cost, dtype)
        self._initialise(np.random.default_rng(seed))

    def _allocate(
        self, sizes: Sequence[int], activation: Activation, cost: Cost, dtype: type | np.dtype
    ) -> None:
        # Checked here too: a model file's values arrive typed only by their check there.
        self.sizes = _check_sizes(sizes)
        if activation not in act.ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}: expected one of {', '.join(act.ACTIVATIONS)}"
            )
        if cost not in COSTS:
            raise ValueError(f"unknown cost {cost!r}: expected one of {', '.join(COSTS)}")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        self.activation: Activation = activation
        self.cost: Cost = cost

        shapes = list(zip(self.sizes[1:], self.sizes[:-1], strict=True))  # (n_l, n_{l-1})
        self._n_weights = sum(n_out * n_in for n_out, n_in in shapes)
        self.num_parameters = parameter_count(self.sizes)
        # Flat layout [W_1 … W_L, b_1 … b_L]: the weights are contiguous so L2 can address them
        # as one slice. The lists below are views: write into them in place, never rebind them.
        self.params = aligned_zeros(self.num_parameters, self.dtype)
        self.grads = aligned_zeros(self.num_parameters, self.dtype)
        self.weights, self.biases = _views(self.params, shapes)
        self.grad_weights, self.grad_biases = _views(self.grads, shapes)
        self._weights_t = [w.T for w in self.weights]  # (n_{l-1}, n_l) views, made once
        self._activate = act.IN_PLACE[activation]
        self._derivative = act.DERIVATIVES[activation]
        self._eye = np.eye(self.sizes[-1], dtype=self.dtype)  # row k = one-hot of label k
        self._scratch: dict[int, _Scratch] = {}

    def _initialise(self, rng: np.random.Generator) -> None:
        """Gaussian weights with a variance that keeps signals from growing or dying with depth.

        He (Var = 2 / n_in) for layers followed by a ReLU, which zeroes half its inputs;
        Xavier/Glorot (Var = 2 / (n_in + n_out)) for sigmoid/tanh layers and the output layer.
        """
        last = len(self.weights) - 1
        for layer, w in enumerate(self.weights):
            n_out, n_in = w.shape
            if self.activation == "relu" and layer < last:
                std = math.sqrt(2.0 / n_in)
            else:
                std = math.sqrt(2.0 / (n_in + n_out))
            w[...] = rng.standard_normal(w.shape) * std
        for b in self.biases:
            b.fill(0.0)

    @classmethod
    def from_flat(
        cls, sizes: Sequence[int], activation: Activation, cost: Cost, params: np.ndarray
    ) -> Network:
        """A network whose flat parameter buffer (the layout of `params`) is a copy of `params`."""
        net = cls.__new__(cls)
        net._allocate(sizes, activation, cost, np.asarray(params).dtype)
        if np.shape(params) != net.params.shape:
            raise ValueError(f"expected {net.params.size} parameters, got {np.size(params)}")
        net.params[...] = params
        return net

    @classmethod
    def from_parameters(
        cls,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray],
        activation: Activation = "sigmoid",
        cost: Cost = "quadratic",
        *,
        dtype: type | np.dtype = np.float32,
    ) -> Network:
        """A network with the given W_l `(n_l, n_{l-1})` and b_l `(n_l,)` (copied)."""
        if not weights or len(weights) != len(biases):
            raise ValueError("need as many bias vectors as weight matrices, and at least one")
        sizes = [int(np.shape(weights[0])[-1]), *(int(np.shape(w)[0]) for w in weights)]
        net = cls.__new__(cls)
        net._allocate(sizes, activation, cost, dtype)
        for layer, (w, b, w_dst, b_dst) in enumerate(
            zip(weights, biases, net.weights, net.biases, strict=True)
        ):
            if np.shape(w) != w_dst.shape or np.shape(b) != b_dst.shape:
                raise ValueError(
                    f"layer {layer}: expected W {w_dst.shape} and b {b_dst.shape}, "
                    f"got {np.shape(w)} and {np.shape(b)}"
                )
            w_dst[...] = w
            b_dst[...] = b
        return net

    # ----------------------------------------------------------------------------- inference

    @property
    def num_layers(self) -> int:
        """L, the number of weight layers (the input layer is not counted)."""
        return len(self.weights)

    def forward(self, x: np.ndarray) -> Forward:
        """Every layer's z_l `(B, n_l)` and a_l for x `(B, n_0)` (or one sample `(n_0,)`)."""
        x = self._check_input(x)
        zs: list[np.ndarray] = []
        activations = [x]
        for layer, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = activations[-1] @ w.T + b
            zs.append(z)
            if layer < self.num_layers - 1:
                activations.append(act.activate(self.activation, z))
            else:
                activations.append(self._output(z.copy()))
        return Forward(zs=zs, activations=activations)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities `(B, n_L)` for x `(B, n_0)` (or `(n_0,)`); rows sum to 1.

        Softmax outputs are probabilities already. Sigmoid outputs are independent "how much does
        this look like a k" scores, so they are divided by their sum (if every output is 0, the
        row becomes uniform).
        """
        a = self.forward(x).activations[-1]  # the one inference pass (a fresh array)
        return normalise_rows(a) if self.cost == "quadratic" else a

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The most likely class `(B,)` int64 for x `(B, n_0)`."""
        digits: np.ndarray = np.argmax(self.predict_proba(x), axis=1)
        return digits

    def _output(self, z: np.ndarray) -> np.ndarray:
        """a_L from z_L (overwritten): sigmoid for the quadratic cost, softmax for cross-entropy."""
        if self.cost == "quadratic":
            return act.sigmoid_in_place(z)
        return act.softmax(z)

    # ------------------------------------------------------------------------------ training

    def gradients(
        self, x: np.ndarray, y: np.ndarray
    ) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        """Mean cost C over the batch and (∂C/∂W_l, ∂C/∂b_l) for every layer (fresh arrays).

        x `(B, n_0)`, y `(B,)` integer labels. Gradients of the data cost only (no L2 term).
        """
        x, y = self._check_batch(x, y)
        cost = self._forward_backward(x, y, self._scratch_for(x.shape[0]))
        return (
            cost,
            [g.copy() for g in self.grad_weights],
            [g.copy() for g in self.grad_biases],
        )

    def train_step(self, x: np.ndarray, y: np.ndarray, optimizer: Optimizer) -> tuple[float, int]:
        """One step of gradient descent on the batch x `(B, n_0)`, y `(B,)` integer labels.

        Returns (mean cost before the step, number of samples the network classified right
        before the step). `grad_weights` / `grad_biases` then hold this batch's gradients.

        Divergence: if the cost or any gradient is NaN/inf, the parameters are NOT updated and
        the returned cost is non-finite (NaN if only the gradient was), so a caller can test
        `math.isfinite(cost)` and still hold the last good weights.
        """
        x, y = self._check_batch(x, y)
        cost = self._forward_backward(x, y, s := self._scratch_for(x.shape[0]))
        # (Array methods with positional `out`, not np.argmax: that adds ~1 µs of dispatch.)
        s.acts[-1].argmax(1, s.guess)
        _equal(s.guess, y, s.hit)
        n_correct = int(_count_nonzero(s.hit))
        if not math.isfinite(cost):
            return cost, n_correct
        # Any NaN/inf gradient makes Σ g² non-finite: one BLAS call instead of isfinite().all()
        # (a gradient above ~1e19 counts as divergence too, which it is).
        grads = self.grads
        if not math.isfinite(grads.dot(grads)):
            return math.nan, n_correct
        optimizer.step(self.params, grads, self._n_weights)
        return cost, n_correct

    def explain(self, x: np.ndarray, label: int | None = None) -> Explanation:
        """One example x `(n_0,)` explained: z, a, cost and every ∂C/∂a, ∂C/∂b, ∂C/∂W.

        `label` defaults to the predicted digit. See app/nn/explain.py for the conventions.
        """
        x = self._check_input(x)
        if x.shape[0] != 1:
            raise ValueError(f"explain takes one example, got {x.shape[0]}; use explain_batch")
        probabilities = self.predict_proba(x)[0]
        digit = int(probabilities.argmax())
        used = digit if label is None else int(label)
        if not 0 <= used < self.sizes[-1]:
            raise ValueError(f"label must be in 0..{self.sizes[-1] - 1}, got {used}")
        result = self.explain_batch(x, np.array([used]))
        return replace(result, digit=digit, label=used)

    def explain_batch(self, x: np.ndarray, y: np.ndarray) -> Explanation:
        """The mean over a batch x `(B, n_0)`, y `(B,)` of what `explain` reports.

        Runs the training step's own `_forward_backward` on a copy, so this network's gradient
        and scratch buffers are never written (safe next to other readers).
        """
        x, y = self._check_batch(self._check_input(x), y)
        batch = x.shape[0]
        scratch_net = self.copy()
        s = scratch_net._scratch_for(batch)
        cost = scratch_net._forward_backward(x, y, s)
        forward = self.forward(x)
        out = forward.activations[-1]
        onehot = self._eye[y]
        if self.cost == "quadratic":
            terms = 0.5 * (out - onehot) ** 2
            grad_out = (out - onehot).mean(0)
        else:
            terms = -onehot * act.log_softmax(forward.zs[-1])
            grad_out = (-onehot / np.maximum(out, np.finfo(self.dtype).tiny)).mean(0)
        # δ_l is stored per example with the 1/B folded in, so Σ_batch gives the mean.
        deltas = [d.sum(0) for d in s.deltas]
        grad_acts = [deltas[k + 1] @ self.weights[k + 1] for k in range(self.num_layers - 1)]
        return Explanation(
            count=batch,
            zs=[z.mean(0) for z in forward.zs],
            activations=[a.mean(0) for a in forward.activations[1:]],
            probabilities=self.predict_proba(x).mean(0),
            digit=None,
            label=None,
            cost=cost,
            cost_terms=terms.mean(0),
            grad_activations=[*grad_acts, grad_out.astype(self.dtype)],
            grad_biases=[g.copy() for g in scratch_net.grad_biases],
            grad_weights=[g.copy() for g in scratch_net.grad_weights],
        )

    def input_gradient(
        self, x: np.ndarray, targets: np.ndarray, objective: Objective = "logit"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each row's objective and its gradient with respect to the input pixels.

        x `(B, n_0)`, targets `(B,)` output indices. The objective of row b is its output
        targets[b]: the weighted sum z_L ("logit") or the log of its `predict_proba` probability
        ("log_probability"). Returns (values `(B,)`, ∂value/∂x `(B, n_0)`).

        The training step's own forward and backward pass (`_forward_into`, `_backward`), seeded
        with ∂objective/∂z_L instead of the cost's δ_L, carried one layer further back to the
        input, and with no ∂/∂W: fresh buffers, so this network's gradient and scratch buffers
        are never written (safe next to other readers).
        """
        x = self._check_input(x)
        targets = np.asarray(targets)
        n_out = self.sizes[-1]
        if targets.shape != (x.shape[0],) or targets.dtype.kind not in "iu":
            raise ValueError(f"targets must be {x.shape[0]} integer indices, got {targets.shape}")
        if targets.size and not (targets.min() >= 0 and targets.max() < n_out):
            raise ValueError(f"targets must be in 0..{n_out - 1}")
        s = _Scratch(self.sizes, x.shape[0], self.dtype)
        z = self._forward_into(x, s)  # z_L, in s.acts[-1]
        onehot = self._eye[targets]
        rows = np.arange(x.shape[0])
        if objective == "logit":
            values, seed = z[rows, targets].copy(), onehot
        elif objective == "log_probability":
            values, seed = self._log_probability(z, onehot, rows, targets)
        else:
            raise ValueError(f"unknown objective {objective!r}: expected one of {OBJECTIVES}")
        s.deltas[-1][...] = seed
        grad = self._backward(x, s, params=False)
        assert grad is not None  # params=False returns the input's gradient
        return values, grad

    def _log_probability(
        self, z: np.ndarray, onehot: np.ndarray, rows: np.ndarray, targets: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """log p_t and ∂ log p_t / ∂z_L, with p as `predict_proba` defines it."""
        if self.cost == "quadratic":  # p_t = σ(z_t) / Σ_k σ(z_k)
            a = act.sigmoid(z)
            total = a.sum(1, keepdims=True)
            values = np.log(a[rows, targets]) - np.log(total[:, 0])
            return values, onehot * (1 - a) - a * (1 - a) / total
        log_p = act.log_softmax(z)
        return log_p[rows, targets], onehot - np.exp(log_p)

    def _forward_backward(self, x: np.ndarray, y: np.ndarray, s: _Scratch) -> float:
        """Fill `self.grads` with ∂C/∂θ for the batch; return the mean cost C.

        This is the hot path: ~45 NumPy calls on arrays of a few hundred numbers, where each
        call's fixed cost (~0.4 µs) outweighs its arithmetic. So everything is looked up once
        into locals and written into preallocated buffers, `out` is passed positionally (NumPy
        parses `np.multiply(a, b, out)` ~0.1 µs faster than `a *= b`, ~0.3 µs faster than
        `out=`), products are called as array methods (`a.dot(b, out)`: np.dot adds a dispatch
        layer) and constants are 0-d arrays rather than Python floats (see activations.py).
        """
        batch: int = x.shape[0]
        hidden_derivatives = True  # whether _backward still has to compute σ'(z_l), l < L
        out = self._forward_into(x, s)  # z_L, turned into a_L below
        delta, onehot = s.deltas[-1], s.onehot

        # Output layer: the cost and δ_L (1/B of the mean folded in at the end).
        try:
            self._eye.take(y, 0, onehot)
        except IndexError:
            raise ValueError(f"labels must be < {self.sizes[-1]}, got {int(y.max())}") from None
        if self.cost == "quadratic":
            act.sigmoid_in_place(out)
            _subtract(out, onehot, delta)  # a_L - y
            cost = 0.5 * float(s.delta_flat.dot(s.delta_flat)) / batch
            if self._derivative is act.sigmoid_derivative:
                # Sigmoid everywhere (the 3b1b net): σ' of every layer, output too, in one call.
                self._derivative(s.all_acts, s.all_derivs)
                _multiply(delta, s.derivs[-1], delta)
                hidden_derivatives = False  # done
            else:
                _multiply(delta, act.sigmoid_derivative(out, s.derivs[-1]), delta)
        else:
            # log-softmax: -log p_label = log Σ_k e^(z_k - m) - (z_label - m), with m the row max,
            # so neither e^z overflows nor a tiny p underflows to log(0) = -inf.
            row = s.row
            out.max(1, row, keepdims=True)
            _subtract(out, row, out)
            label_logit = float(out.ravel().dot(s.onehot_flat))  # Σ_b (z_label - m)
            _exp(out, out)
            out.sum(1, None, row, keepdims=True)
            cost = (float(_log(row).sum()) - label_logit) / batch
            _divide(out, row, out)  # now the softmax probabilities
            _subtract(out, onehot, delta)
        _multiply(delta, s.inverse_batch, delta)  # δ_L /= B
        self._backward(x, s, hidden_derivatives=hidden_derivatives)
        return float(cost)

    def _forward_into(self, x: np.ndarray, s: _Scratch) -> np.ndarray:
        """The forward pass into the scratch buffers: a_l = σ(a_{l-1} @ W_l.T + b_l) in
        s.acts[l-1] for the hidden layers; returns s.acts[-1] holding z_L (not yet a_L)."""
        activate, acts, weights_t, biases = self._activate, s.acts, self._weights_t, self.biases
        a_prev = x
        for layer in range(len(acts) - 1):
            a = acts[layer]
            a_prev.dot(weights_t[layer], a)  # z_l = a_{l-1} @ W_l.T
            _add(a, biases[layer], a)  # + b_l
            activate(a)  # a_l = σ(z_l), in place
            a_prev = a
        z = acts[-1]
        a_prev.dot(weights_t[-1], z)
        _add(z, biases[-1], z)
        return z

    def _backward(
        self, x: np.ndarray, s: _Scratch, *, params: bool = True, hidden_derivatives: bool = True
    ) -> np.ndarray | None:
        """Backpropagate δ_L (already in s.deltas[-1]) through the hidden layers.

        `params`: write ∂C/∂W_l = δ_l.T @ a_{l-1} and ∂C/∂b_l = Σ_batch δ_l (as ones @ δ_l: BLAS
        is several times faster than np.sum(axis=0) here) into `self.grads`, and return None.
        Otherwise skip those and return the input's gradient δ_1 @ W_1 `(B, n_0)` instead.
        Between layers: δ_{l-1} = (δ_l @ W_l) ⊙ σ'(z_{l-1}); `hidden_derivatives=False` when
        the caller has already put those σ' in s.derivs.
        """
        weights, acts, deltas, derivs, ones = self.weights, s.acts, s.deltas, s.derivs, s.ones
        deltas_t, grad_weights, grad_biases = s.deltas_t, self.grad_weights, self.grad_biases
        if hidden_derivatives:
            # σ'(z_l) of every hidden layer in one call: it needs only their stored a_l.
            self._derivative(s.hidden_acts, s.hidden_derivs)
        for layer in range(len(weights) - 1, 0, -1):
            delta = deltas[layer]
            if params:
                deltas_t[layer].dot(acts[layer - 1], grad_weights[layer])
                ones.dot(delta, grad_biases[layer])
            delta_prev = deltas[layer - 1]
            delta.dot(weights[layer], delta_prev)
            _multiply(delta_prev, derivs[layer - 1], delta_prev)
        if not params:
            input_gradient: np.ndarray = deltas[0] @ weights[0]  # no σ at the input: δ_1 @ W_1
            return input_gradient
        deltas_t[0].dot(x, grad_weights[0])
        ones.dot(deltas[0], grad_biases[0])
        return None

    def _scratch_for(self, batch: int) -> _Scratch:
        scratch = self._scratch.get(batch)
        if scratch is None:
            if len(self._scratch) >= _MAX_CACHED_BATCH_SIZES:
                self._scratch.pop(next(iter(self._scratch)))  # the oldest batch size
            scratch = self._scratch[batch] = _Scratch(self.sizes, batch, self.dtype)
        return scratch

    # ---------------------------------------------------------------------------- validation

    def _check_input(self, x: np.ndarray) -> np.ndarray:
        """x as a `(B, n_0)` array of our dtype (a single `(n_0,)` sample becomes B = 1)."""
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(f"x must have shape (B, {self.sizes[0]}), got {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("x contains NaN or infinite values")
        return x

    def _check_batch(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cheap checks for the hot path: shapes, dtypes and label range (not x's values)."""
        x = np.asarray(x, dtype=self.dtype)
        if not x.flags.c_contiguous:
            x = np.ascontiguousarray(x)
        y = np.asarray(y)
        if x.ndim != 2 or x.shape[1] != self.sizes[0] or x.shape[0] == 0:
            raise ValueError(f"x must have shape (B, {self.sizes[0]}) with B >= 1, got {x.shape}")
        if y.shape != (x.shape[0],) or y.dtype.kind not in "iu":
            raise ValueError(
                f"y must be {x.shape[0]} integer labels, got shape {y.shape} dtype {y.dtype}"
            )
        # Labels >= n_L make np.take raise in _forward_backward; negative ones it would wrap.
        if y.dtype.kind == "i" and y.min() < 0:
            raise ValueError("labels must be >= 0")
        if y.dtype.itemsize < _INTP_SIZE:
            # Narrow labels (uint8 as MNIST stores them) as intp, the index type: take and
            # the accuracy's == then skip a conversion each (~0.5 µs for one astype's 0.3 µs).
            y = y.astype(np.intp)
        return x, y

    # --------------------------------------------------------------------------------- misc

    def copy(self) -> Network:
        """An independent network with the same architecture and parameters."""
        net = type(self).__new__(type(self))
        net._allocate(self.sizes, self.activation, self.cost, self.dtype)
        net.params[...] = self.params
        return net

    def __deepcopy__(self, memo: dict[int, object]) -> Network:
        # The default deepcopy would copy each weight view separately, cutting it loose from the
        # flat buffer that train_step and the optimiser update.
        return self.copy()

    def config(self) -> dict[str, list[int] | str]:
        """The architecture as a JSON-able dict: {"sizes", "activation", "cost"}."""
        return {"sizes": list(self.sizes), "activation": self.activation, "cost": self.cost}

    def __repr__(self) -> str:
        return (
            f"Network({self.sizes}, activation={self.activation!r}, cost={self.cost!r}, "
            f"parameters={self.num_parameters})"
        )


def _check_sizes(sizes: Sequence[int]) -> list[int]:
    try:
        checked = [int(n) for n in sizes]
    except (TypeError, ValueError):
        raise ValueError(f"sizes must be a list of layer sizes, got {sizes!r}") from None
    if len(checked) < 2:
        raise ValueError(f"sizes needs at least an input and an output layer, got {checked}")
    if any(not 1 <= n <= MAX_LAYER_SIZE for n in checked) or any(
        n != s for n, s in zip(checked, sizes, strict=True)
    ):
        raise ValueError(f"layer sizes must be integers in 1..{MAX_LAYER_SIZE}, got {list(sizes)}")
    return checked


def _views(
    flat: np.ndarray, shapes: list[tuple[int, int]]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-layer W_l `(n_l, n_{l-1})` and b_l `(n_l,)` views into a flat [W…, b…] buffer."""
    weights, biases, start = [], [], 0
    for n_out, n_in in shapes:
        weights.append(flat[start : start + n_out * n_in].reshape(n_out, n_in))
        start += n_out * n_in
    for n_out, _ in shapes:
        biases.append(flat[start : start + n_out])
        start += n_out
    return weights, biases


def set_blas_threads(n: int) -> bool:
    """Limit the OpenBLAS bundled with NumPy to `n` threads, process-wide; True if it worked.

    Why: on a small shared machine, a multithreaded BLAS spins waiting for a busy second core, and
    a 784-256-128-10 training step at batch 128 measured 2-3x *slower* with 2 threads than with
    1 whenever other processes were busy (and ~15% faster on an idle machine). The 3b1b network's
    matrices are too small for it to matter. Not called on import: the caller (CLI, trainer,
    benchmark) decides. Returns False, changing nothing, for a NumPy without bundled OpenBLAS.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    libs = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*")
    names = (
        "scipy_openblas_set_num_threads64_",
        "openblas_set_num_threads64_",
        "openblas_set_num_threads",
    )
    for path in glob.glob(libs):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter.argtypes = [ctypes.c_int]
                setter(int(n))
                return True
    return False

"""Gradient-descent optimisers: SGD, SGD with momentum, Adam.

An optimiser updates a network's parameters in place from its gradients. The network keeps all
parameters in one flat buffer `θ` laid out as [W_1, ..., W_L, b_1, ..., b_L] (weights first), and
the gradients ∂C/∂θ in a second flat buffer of the same layout, so one update is a handful of
whole-buffer NumPy calls instead of a Python loop over layers.

L2 regularisation adds (l2 / 2)·Σ w² to the cost, for weights only (biases are not decayed), i.e.
l2·w to each weight's gradient. It is applied here rather than in `Network.gradients`, which
returns the gradient of the data cost alone.

`learning_rate` and `l2` are read at every step, so they may be changed between steps
(learning-rate schedules, the "change learning rate" button); setting them validates the value.
The other hyper-parameters (momentum, Adam's betas and eps) are fixed at construction.

Speed: for the 3b1b network an update is ~13k numbers, where a NumPy call's fixed cost is
about a third of the call. Each update is written as whole-buffer calls with `out=` into
preallocated buffers, the fixed constants are 0-d arrays (a Python float operand costs NumPy
~0.3 µs more to convert), and the hot code reads the plain attributes behind the properties.
"""

from __future__ import annotations

import math

import numpy as np

from app.nn.vocab import OPTIMIZERS, OptimizerName

# Momentum buffers of weights whose gradient is 0 for a while (MNIST's border pixels are almost
# always 0) decay geometrically into the subnormal range, where every CPU operation on them is
# ~100x slower: on real MNIST that cost the 3b1b network ~25% of its training speed. Every
# FLUSH_EVERY steps, state values below FLUSH_BELOW become exactly 0. With β = 0.9 a value above
# FLUSH_BELOW stays far above the subnormals (~1e-38) for the next FLUSH_EVERY steps, and an
# update of that size (< 1e-30 / ε) is far below a float32 weight's resolution.
FLUSH_EVERY = 64
FLUSH_BELOW = 1e-30

# The updates' ufuncs, called with `out` as a positional argument: NumPy parses that ~0.1 µs
# faster than `a *= b` and ~0.3 µs faster than `out=` (see app/nn/network.py).
_add, _subtract, _multiply, _divide, _sqrt = np.add, np.subtract, np.multiply, np.divide, np.sqrt


class Optimizer:
    """Base class: holds the hyper-parameters and per-parameter state buffers."""

    name = "optimizer"

    def __init__(self, learning_rate: float, *, l2: float = 0.0) -> None:
        self.learning_rate = learning_rate
        self.l2 = l2
        self.steps = 0  # number of updates applied so far
        self._size = -1  # size and dtype of the parameter buffer the state was made for
        self._dtype: np.dtype | None = None

    @property
    def learning_rate(self) -> float:
        """η, the step size; may be changed between steps."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._learning_rate = _check_rate("learning_rate", value)

    @property
    def l2(self) -> float:
        """L2 coefficient for the weights (0 = off); may be changed between steps."""
        return self._l2

    @l2.setter
    def l2(self, value: float) -> None:
        self._l2 = _check_rate("l2", value, allow_zero=True)

    def step(self, params: np.ndarray, grads: np.ndarray, n_weights: int) -> None:
        """Update the flat parameter vector `params` (P,) in place from `grads` (P,).

        The first `n_weights` entries are weights (L2 applies to them), the rest biases.
        """
        if params.size != self._size or params.dtype != self._dtype:
            # First step, or a different network: momenta start from zero.
            self._size, self._dtype = params.size, params.dtype
            self.steps = 0
            self._allocate(params)
        self.steps += 1
        self._update(params, grads, n_weights)
        if self.steps % FLUSH_EVERY == 0:
            for state in self._state():
                np.abs(state, out=self._tmp)
                np.copyto(state, 0, where=self._tmp < FLUSH_BELOW)

    def _state(self) -> list[np.ndarray]:
        """The buffers that carry over between steps (decaying averages, to flush)."""
        return []

    def reset(self) -> None:
        """Forget the accumulated state (momenta, step count)."""
        self._size, self._dtype, self.steps = -1, None, 0

    def _allocate(self, params: np.ndarray) -> None:
        self._tmp = aligned_zeros(params.size, params.dtype)
        self._rate = _constant(0.0, params.dtype)  # η for this step, as a 0-d array

    def _update(self, params: np.ndarray, grads: np.ndarray, n_weights: int) -> None:
        raise NotImplementedError

    def config(self) -> dict[str, str | float]:
        """The hyper-parameters as a JSON-able dict."""
        return {"name": self.name, "learning_rate": self.learning_rate, "l2": self.l2}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """θ ← θ - η (∂C/∂θ + l2·w)."""

    name = "sgd"

    def _update(self, params: np.ndarray, grads: np.ndarray, n_weights: int) -> None:
        lr = self._learning_rate
        if self._l2:
            # w - η·l2·w - η·g: shrink the weights first ("weight decay"), then the usual step.
            params[:n_weights] *= 1.0 - lr * self._l2
        rate = self._rate
        rate[()] = lr  # a 0-d array: see Adam._update
        _multiply(grads, rate, self._tmp)
        _subtract(params, self._tmp, params)


class Momentum(Optimizer):
    """v ← μ v - η (∂C/∂θ + l2·w);  θ ← θ + v  (classical momentum, v starts at 0)."""

    name = "momentum"

    def __init__(self, learning_rate: float, *, l2: float = 0.0, momentum: float = 0.9) -> None:
        super().__init__(learning_rate, l2=l2)
        if not (math.isfinite(momentum) and 0.0 <= momentum < 1.0):
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self._momentum = float(momentum)

    @property
    def momentum(self) -> float:
        """μ, the fraction of the velocity kept from one step to the next."""
        return self._momentum

    def _allocate(self, params: np.ndarray) -> None:
        super()._allocate(params)
        self._velocity = aligned_zeros(params.size, params.dtype)
        self._mu = _constant(self._momentum, params.dtype)

    def _state(self) -> list[np.ndarray]:
        return [self._velocity]

    def _update(self, params: np.ndarray, grads: np.ndarray, n_weights: int) -> None:
        lr, v, tmp, rate = self._learning_rate, self._velocity, self._tmp, self._rate
        rate[()] = lr  # a 0-d array: see Adam._update
        _multiply(v, self._mu, v)
        _multiply(grads, rate, tmp)
        _subtract(v, tmp, v)
        if self._l2:
            np.multiply(params[:n_weights], lr * self._l2, out=tmp[:n_weights])
            v[:n_weights] -= tmp[:n_weights]
        _add(params, v, params)

    def config(self) -> dict[str, str | float]:
        return {**super().config(), "momentum": self.momentum}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with L2 added to the gradient g = ∂C/∂θ + l2·w:

        m ← β1 m + (1-β1) g      v ← β2 v + (1-β2) g²
        θ ← θ - η m̂ / (√v̂ + ε)   with m̂ = m / (1-β1^t), v̂ = v / (1-β2^t)

    Implementation detail, for speed: we store m' = m / (1-β1) and v' = v / (1-β2), which obey
    m' ← β1 m' + g and v' ← β2 v' + g², and fold every constant into two scalars:

        m̂ / (√v̂ + ε) = c·m' / (√v' + ε/k)  with  c = (1-β1) / (1-β1^t) / k,
                                                  k = √((1-β2) / (1-β2^t)).
    """

    name = "adam"

    def __init__(
        self,
        learning_rate: float,
        *,
        l2: float = 0.0,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(learning_rate, l2=l2)
        for label, beta in (("beta1", beta1), ("beta2", beta2)):
            if not (math.isfinite(beta) and 0.0 <= beta < 1.0):
                raise ValueError(f"{label} must be in [0, 1), got {beta!r}")
        self._beta1, self._beta2 = float(beta1), float(beta2)
        self._eps = _check_rate("eps", eps)

    @property
    def beta1(self) -> float:
        """β1, the decay of the gradient's running mean."""
        return self._beta1

    @property
    def beta2(self) -> float:
        """β2, the decay of the squared gradient's running mean."""
        return self._beta2

    @property
    def eps(self) -> float:
        """ε, added to √v̂ so that a parameter with v̂ = 0 takes a finite step."""
        return self._eps

    def _allocate(self, params: np.ndarray) -> None:
        super()._allocate(params)
        self._m = aligned_zeros(params.size, params.dtype)
        self._v = aligned_zeros(params.size, params.dtype)
        self._g = aligned_zeros(params.size, params.dtype)
        self._b1 = _constant(self._beta1, params.dtype)
        self._b2 = _constant(self._beta2, params.dtype)
        self._eps_k = _constant(0.0, params.dtype)  # ε/k and the step size, set every step
        self._step_size = _constant(0.0, params.dtype)

    def _state(self) -> list[np.ndarray]:
        return [self._m, self._v]

    def _update(self, params: np.ndarray, grads: np.ndarray, n_weights: int) -> None:
        m, v, tmp = self._m, self._v, self._tmp
        t, b1, b2 = self.steps, self._beta1, self._beta2
        if self._l2:
            g = self._g
            _multiply(params[:n_weights], self._l2, g[:n_weights])
            _add(g[:n_weights], grads[:n_weights], g[:n_weights])
            g[n_weights:] = grads[n_weights:]
        else:
            g = grads
        _multiply(m, self._b1, m)
        _add(m, g, m)
        _multiply(v, self._b2, v)
        _multiply(g, g, tmp)
        _add(v, tmp, v)
        k = math.sqrt((1.0 - b2) / (1.0 - b2**t))
        # This step's two scalars go into 0-d arrays of the parameters' dtype: the values a
        # Python float operand would be rounded to, and ~0.35 µs cheaper per call to take.
        eps, step_size = self._eps_k, self._step_size
        eps[()] = self._eps / k
        step_size[()] = self._learning_rate * (1.0 - b1) / (1.0 - b1**t) / k
        _sqrt(v, tmp)
        _add(tmp, eps, tmp)
        _divide(m, tmp, tmp)
        _multiply(tmp, step_size, tmp)
        _subtract(params, tmp, params)

    def config(self) -> dict[str, str | float]:
        return {**super().config(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


def make_optimizer(
    name: OptimizerName, learning_rate: float, *, l2: float = 0.0, momentum: float = 0.9
) -> Optimizer:
    """Build the optimiser called `name` ("sgd", "momentum" or "adam")."""
    if name == "sgd":
        return SGD(learning_rate, l2=l2)
    if name == "momentum":
        return Momentum(learning_rate, l2=l2, momentum=momentum)
    if name == "adam":
        return Adam(learning_rate, l2=l2)
    raise ValueError(f"unknown optimizer {name!r}: expected one of {', '.join(OPTIMIZERS)}")


def aligned_zeros(size: int, dtype: np.dtype | type) -> np.ndarray:
    """A zeroed 1-d array whose data starts on a 64-byte boundary (a cache line).

    NumPy allocates on 16-byte boundaries; its SIMD loops over the optimiser's ~13k-number
    buffers measured ~8% slower when these were not 32-byte aligned (split vector loads).
    """
    dtype = np.dtype(dtype)
    raw = np.zeros(size + 64 // dtype.itemsize, dtype)
    skip = (-raw.ctypes.data % 64) // dtype.itemsize
    return raw[skip : skip + size]


def _constant(value: float, dtype: np.dtype | None) -> np.ndarray:
    """A fixed hyper-parameter as a 0-d array of the parameters' dtype (the value a Python
    float operand would be rounded to), which NumPy takes as an operand faster."""
    return np.array(value, dtype)


def _check_rate(label: str, value: float, *, allow_zero: bool = False) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{label} must be a finite number {bound}, got {value!r}")
    return value

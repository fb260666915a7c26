"""Activation functions σ, their derivatives, and softmax.

Every function works elementwise on an array of any shape (softmax: row-wise on `(B, n)`) and
keeps its dtype. The `*_in_place` variants overwrite their argument: the training hot path calls
them on preallocated buffers so that a step allocates nothing.

The derivatives are written in terms of the activation's *output* a = σ(z), because backprop
already has a stored and does not need to keep z:

    sigmoid'(z) = a (1 - a)        tanh'(z) = 1 - a²        relu'(z) = [a > 0]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.nn.vocab import ACTIVATIONS as ACTIVATIONS  # declared in vocab.py
from app.nn.vocab import Activation as Activation

# Constants of the in-place functions as 0-d float32 arrays: NumPy takes ~0.3 µs longer to
# turn a Python float into an operand, which on the training step's small arrays is ~40% of a
# call. (A float32 constant with float64 arrays computes in float64; 0.5, 0 and 1 are exact.)
_HALF = np.array(0.5, np.float32)
_ZERO = np.array(0.0, np.float32)
_ONE = np.array(1.0, np.float32)
# The ufuncs of the in-place functions, called with `out` as a positional argument: NumPy
# parses that ~0.1 µs faster than `a *= b` and ~0.3 µs faster than `out=` (a 32x16 array's
# whole multiply takes ~0.35 µs), and a module global is found faster than `np.multiply`.
_add, _sub, _mul, _tanh, _greater = np.add, np.subtract, np.multiply, np.tanh, np.greater


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^-z), same shape and dtype as z.

    Computed as 0.5·tanh(z/2) + 0.5, which is the same function but never overflows: 1/(1+e^-z)
    would evaluate e^-z = inf (with a warning) for z < -88 in float32.
    """
    return sigmoid_in_place(np.array(z, dtype=np.result_type(z, np.float32), copy=True))


def sigmoid_in_place(a: np.ndarray) -> np.ndarray:
    """Overwrite a (holding z) with σ(z); returns a."""
    _mul(a, _HALF, a)
    _tanh(a, a)
    _mul(a, _HALF, a)
    _add(a, _HALF, a)
    return a


def relu(z: np.ndarray) -> np.ndarray:
    """max(z, 0), same shape and dtype as z."""
    out: np.ndarray = np.maximum(z, 0)
    return out


def relu_in_place(a: np.ndarray) -> np.ndarray:
    """Overwrite a (holding z) with max(z, 0); returns a."""
    np.maximum(a, _ZERO, out=a)  # (NumPy 2.4 deprecates a positional out for maximum)
    return a


def tanh(z: np.ndarray) -> np.ndarray:
    """tanh(z), same shape and dtype as z."""
    out: np.ndarray = np.tanh(z)
    return out


def tanh_in_place(a: np.ndarray) -> np.ndarray:
    """Overwrite a (holding z) with tanh(z); returns a."""
    _tanh(a, a)
    return a


def sigmoid_derivative(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    """sigmoid'(z) = a (1 - a) from a = sigmoid(z), written into out; returns out."""
    _sub(_ONE, a, out)
    _mul(out, a, out)
    return out


def tanh_derivative(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    """tanh'(z) = 1 - a² from a = tanh(z), written into out; returns out."""
    _mul(a, a, out)
    _sub(_ONE, out, out)
    return out


def relu_derivative(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    """relu'(z) = [a > 0] from a = relu(z), written into out; returns out.

    The subgradient at z = 0 is taken as 0, as in every common framework.
    """
    _greater(a, _ZERO, out)  # bools written as 0.0 / 1.0
    return out


# name -> function, looked up once per network rather than on every call.
IN_PLACE = {"sigmoid": sigmoid_in_place, "relu": relu_in_place, "tanh": tanh_in_place}
DERIVATIVES = {"sigmoid": sigmoid_derivative, "relu": relu_derivative, "tanh": tanh_derivative}


def _lookup(table: dict[str, Callable[..., np.ndarray]], name: str) -> Callable[..., np.ndarray]:
    try:
        return table[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}: expected one of {', '.join(ACTIVATIONS)}"
        ) from None


def activate_in_place(name: str, a: np.ndarray) -> np.ndarray:
    """Apply the activation called `name` to a in place; returns a."""
    return _lookup(IN_PLACE, name)(a)


def activate(name: str, z: np.ndarray) -> np.ndarray:
    """Return σ(z) for the activation called `name`, leaving z untouched."""
    return activate_in_place(name, np.array(z, copy=True))


def derivative_from_output(name: str, a: np.ndarray, out: np.ndarray) -> np.ndarray:
    """σ'(z) written into `out`, computed from a = σ(z) (same shape as a); returns out."""
    return _lookup(DERIVATIVES, name)(a, out)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of z `(B, n)`: p_ij = e^z_ij / Σ_k e^z_ik, rows sum to 1.

    The row maximum is subtracted first (softmax is invariant to it), so e^x never overflows.
    """
    p: np.ndarray = z - np.max(z, axis=-1, keepdims=True)
    np.exp(p, out=p)
    p /= np.sum(p, axis=-1, keepdims=True)
    return p


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log p_ij = z_ij - log Σ_k e^z_ik, without ever forming a p that underflows to 0."""
    shifted = z - np.max(z, axis=-1, keepdims=True)
    out: np.ndarray = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    return out

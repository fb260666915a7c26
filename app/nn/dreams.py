"""What the network dreams of: for each output digit, an input image that maximises it.

Gradient ascent on the input, the ten digits as one batch of ten images:

    x = sigmoid(u)                      pixels stay in (0, 1) whatever u is: u is unconstrained
    maximise  z_d(x) − l2·‖x‖² − smoothness·Σ (neighbour differences)²

* The objective is the output's weighted sum z_d (the logit, before the sigmoid or softmax),
  not its log-probability. log p_d can also rise by pushing the other nine outputs down, and
  it saturates near p = 1, so the penalties then win and the image fades; z_d measures only
  the evidence *for* d (Simonyan et al. 2013 make the same choice). The image is still of d
  to the model: on the shipped models every dream's prediction is its own digit.
* Each step follows the unit-length direction of ∇z_d (the gradient from `Network.
  input_gradient`, the training step's own backward pass) plus the penalties' gradients. z_d's
  slope differs by model and changes as the image develops (a sigmoid network saturates, a ReLU
  one is piecewise linear and never does), so normalising it lets one pair of penalty weights
  suit both: without it the sigmoid network's dreams fade and the ReLU network's turn into
  black-and-white blotches.
* ‖x‖² keeps the ink sparse; the squared differences between neighbouring pixels (a smooth
  form of total variation) keep the image from becoming noise.
* The steps are Adam's (`app/nn/optim.py`) on u, from a near-blank start (x ≈ 0.05) with a
  little seeded noise, so the result is deterministic for a seed.

No I/O; progress goes out through an optional callback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.nn.activations import sigmoid
from app.nn.network import Network
from app.nn.optim import Adam

SIDE = 28  # the images are SIDE × SIDE
STEPS = 300
LEARNING_RATE = 0.1
L2 = 0.02
SMOOTHNESS = 0.1
START_LOGIT = -3.0  # u at the start: sigmoid(−3) ≈ 0.047, nearly blank
START_NOISE = 0.1  # standard deviation of the noise added to u at the start
PROGRESS_EVERY = 25  # steps between progress callbacks

Progress = Callable[[int, int], None]  # (steps done, steps in all)


class DreamOverflow(ArithmeticError):
    """The network's arithmetic overflows (NaN or infinity) on the images being grown."""


@dataclass(frozen=True)
class Dreams:
    digits: np.ndarray  # (K,) the output each image maximises
    images: np.ndarray  # (K, 784) float32 in [0, 1]
    probabilities: np.ndarray  # (K, n_L) what the model says of each image (predict_proba)
    start_logits: np.ndarray  # (K,) z_d of the starting image
    logits: np.ndarray  # (K,) z_d of the dream
    steps: int


def smoothness_penalty(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ of squared differences between horizontal and vertical neighbours of each image
    `(K, 784)`, and its gradient `(K, 784)`."""
    img = images.reshape(-1, SIDE, SIDE)
    dx = np.diff(img, axis=2)
    dy = np.diff(img, axis=1)
    value = np.einsum("kij,kij->k", dx, dx) + np.einsum("kij,kij->k", dy, dy)
    grad = np.zeros_like(img)
    grad[:, :, 1:] += 2 * dx
    grad[:, :, :-1] -= 2 * dx
    grad[:, 1:, :] += 2 * dy
    grad[:, :-1, :] -= 2 * dy
    return value, grad.reshape(images.shape)


def _ascent_direction(
    network: Network, x: np.ndarray, digits: np.ndarray, l2: float, smoothness: float
) -> np.ndarray:
    """∂/∂x of the unit-slope objective minus the penalties, for each image."""
    _, grad = network.input_gradient(x, digits, "logit")
    norm = np.linalg.norm(grad, axis=1, keepdims=True)
    grad /= np.maximum(norm, np.finfo(grad.dtype).tiny)
    if l2:
        grad -= (2 * l2) * x
    if smoothness:
        grad -= smoothness * smoothness_penalty(x)[1]
    return grad


def dream(
    network: Network,
    *,
    digits: np.ndarray | None = None,
    steps: int = STEPS,
    learning_rate: float = LEARNING_RATE,
    l2: float = L2,
    smoothness: float = SMOOTHNESS,
    seed: int = 0,
    on_progress: Progress | None = None,
) -> Dreams:
    """One image per output in `digits` (default: every output, 0..n_L−1), grown by `steps`
    steps of gradient ascent from a near-blank start; see the module docstring.

    `l2` and `smoothness` are the penalty weights (0 turns a penalty off). The same network,
    arguments and seed give the same images. `on_progress(done, steps)` is called every
    PROGRESS_EVERY steps and at the end. DreamOverflow if the arithmetic overflows.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if l2 < 0 or smoothness < 0:
        raise ValueError("the penalty weights l2 and smoothness must be >= 0")
    n_in = network.sizes[0]
    if n_in != SIDE * SIDE:
        raise ValueError(f"dreams are {SIDE}×{SIDE} images; this network takes {n_in} inputs")
    n_out = network.sizes[-1]
    targets = np.arange(n_out) if digits is None else np.asarray(digits)
    if (
        targets.ndim != 1
        or targets.size == 0
        or targets.dtype.kind not in "iu"
        or not np.isin(targets, range(n_out)).all()
    ):
        raise ValueError(f"digits must be a non-empty list of output indices in 0..{n_out - 1}")
    rng = np.random.default_rng(seed)
    u = START_LOGIT + START_NOISE * rng.standard_normal((targets.size, n_in))
    u = u.astype(network.dtype)
    start_logits = network.forward(sigmoid(u)).zs[-1][np.arange(targets.size), targets]
    optimizer = Adam(learning_rate)
    flat_u = u.reshape(-1)  # a view: Adam updates u in place
    for done in range(1, steps + 1):
        x = sigmoid(u)
        direction = _ascent_direction(network, x, targets, l2, smoothness)
        if not np.isfinite(direction).all():
            raise DreamOverflow(f"the gradient holds NaN or infinity at step {done}")
        direction *= x * (1 - x)  # chain rule through x = sigmoid(u)
        np.negative(direction, out=direction)  # Adam descends: descend on minus the objective
        optimizer.step(flat_u, direction.reshape(-1), 0)
        if on_progress is not None and (done % PROGRESS_EVERY == 0 or done == steps):
            on_progress(done, steps)
    images = sigmoid(u)
    logits = network.forward(images).zs[-1][np.arange(targets.size), targets]
    return Dreams(
        digits=targets.copy(),
        images=images,
        probabilities=network.predict_proba(images),
        start_logits=start_logits,
        logits=logits,
        steps=steps,
    )

"""What `Network.explain` returns: one example's (or a batch's mean) forward and backward pass.

Layers are indexed 0..L-1 like the weight matrices (W0 is the first hidden layer's, as in the
saved .npz). Cost convention, the same as `Network.gradients` / `train_step`:

    quadratic      C = ½ Σ_j (a_L,j − y_j)²     cost_terms[j] = ½ (a_L,j − y_j)²
    cross_entropy  C = −log a_L[label]          cost_terms[j] = −y_j log a_L,j (0 except the label)

For a batch every array is the mean over its examples (the gradients are those of the mean cost).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Explanation:
    count: int  # how many examples were averaged (1 for a single example)
    zs: list[np.ndarray]  # z_l (n_l,) for l = 0..L-1
    activations: list[np.ndarray]  # a_l (n_l,) for l = 0..L-1 (the input is not repeated)
    probabilities: np.ndarray  # (n_L,) as predict_proba reports them
    digit: int | None  # the prediction (None for a batch)
    label: int | None  # the label the cost is measured against (None for a batch)
    cost: float
    cost_terms: np.ndarray  # (n_L,), summing to cost
    grad_activations: list[np.ndarray]  # ∂C/∂a_l (n_l,)
    grad_biases: list[np.ndarray]  # ∂C/∂b_l = ∂C/∂z_l (n_l,)
    grad_weights: list[np.ndarray]  # ∂C/∂W_l (n_l, n_{l-1})

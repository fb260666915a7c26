"""The neural network: pure NumPy, no I/O (progress goes out through callbacks)."""

from app.nn.network import Forward, Network, set_blas_threads
from app.nn.optim import SGD, Adam, Momentum, Optimizer, make_optimizer
from app.nn.serialize import (
    ModelFileError,
    load_model,
    model_from_bytes,
    model_to_bytes,
    save_model,
)

__all__ = [
    "SGD",
    "Adam",
    "Forward",
    "ModelFileError",
    "Momentum",
    "Network",
    "Optimizer",
    "load_model",
    "make_optimizer",
    "model_from_bytes",
    "model_to_bytes",
    "save_model",
    "set_blas_threads",
]

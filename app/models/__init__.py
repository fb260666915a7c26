"""The pretrained networks that ship inside the package, so a fresh install recognises digits.

Each is an `.npz` written by `app.nn.serialize.save_model` from `nn-playground train --preset
NAME --save app/models/NAME.npz` (bench/README.md has the exact commands and accuracies).
"""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
SHIPPED: tuple[str, ...] = ("3b1b", "accurate")
DEFAULT_MODEL = "accurate"


def shipped_model_path(name: str) -> Path:
    """The file of shipped model `name`; ValueError naming the choices for an unknown name."""
    if name not in SHIPPED:
        raise ValueError(f"no shipped model {name!r}: choose one of {', '.join(SHIPPED)}")
    return MODELS_DIR / f"{name}.npz"

"""GET /api/vocabulary: run statuses and config choices, read from their one declaration."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.schemas import Vocabulary
from app.nn.activations import ACTIVATIONS
from app.nn.network import COSTS
from app.nn.optim import OPTIMIZERS
from app.nn.protocol import ENDED_STATUSES, LIVE_STATUSES, STATUSES
from app.nn.serialize import MNIST_INPUT, MNIST_OUTPUT
from app.nn.trainer import LR_SCHEDULES

router = APIRouter(prefix="/api/vocabulary", tags=["presets"])


@router.get("", response_model=Vocabulary)
def vocabulary() -> Vocabulary:
    return Vocabulary.model_validate(
        {
            "statuses": list(STATUSES),
            "live_statuses": [s for s in STATUSES if s in LIVE_STATUSES],
            "ended_statuses": [s for s in STATUSES if s in ENDED_STATUSES],
            "choices": {
                "activation": list(ACTIVATIONS),
                "cost": list(COSTS),
                "optimizer": list(OPTIMIZERS),
                "lr_schedule": list(LR_SCHEDULES),
            },
            "input_size": MNIST_INPUT,
            "output_size": MNIST_OUTPUT,
            "output_for_cost": {c: "softmax" if c == "cross_entropy" else "sigmoid" for c in COSTS},
        }
    )

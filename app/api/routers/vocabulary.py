"""GET /api/vocabulary: run statuses, config choices, the network's input and output sizes,
the output function of each cost and the datasets with their class names, read from their one
declaration (app/nn/vocab.py, app/nn/protocol.py, app/data/datasets.py)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.schemas import Choices, DatasetInfo, Vocabulary
from app.data.datasets import DATASETS
from app.nn.protocol import ENDED_STATUSES, LIVE_STATUSES, STATUSES
from app.nn.vocab import (
    ACTIVATIONS,
    COSTS,
    DATA_MIXES,
    DATASET_NAMES,
    DRAWINGS_POOLS,
    INPUT_SIZE,
    LR_SCHEDULES,
    OPTIMIZERS,
    OUTPUT_FOR_COST,
    OUTPUT_SIZE,
)

router = APIRouter(prefix="/api/vocabulary", tags=["presets"])


@router.get("", response_model=Vocabulary)
def vocabulary() -> Vocabulary:
    return Vocabulary(
        statuses=list(STATUSES),
        live_statuses=[s for s in STATUSES if s in LIVE_STATUSES],
        ended_statuses=[s for s in STATUSES if s in ENDED_STATUSES],
        choices=Choices(
            activation=list(ACTIVATIONS),
            cost=list(COSTS),
            optimizer=list(OPTIMIZERS),
            lr_schedule=list(LR_SCHEDULES),
            dataset=list(DATASET_NAMES),
            data=list(DATA_MIXES),  # finetune (issue 17 §2)
            drawings_pool=list(DRAWINGS_POOLS),
        ),
        datasets=[
            DatasetInfo(name=d.name, title=d.title, class_names=list(d.class_names))
            for d in DATASETS.values()
        ],
        input_size=INPUT_SIZE,
        output_size=OUTPUT_SIZE,
        output_for_cost=dict(OUTPUT_FOR_COST),
    )

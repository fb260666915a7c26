"""A run's public shape, declared once: what `Run.info` builds and the HTTP API answers
(app/api/schemas.py uses these as its response models) and the WebSocket's snapshot carries.

They are TypedDicts: typed for mypy, plain JSON-ready dicts at run time (the store keeps the
same dicts, and the fan-out serialises them as they are).
"""

from __future__ import annotations

from typing import Annotated, NotRequired

from pydantic import Field
from typing_extensions import TypedDict  # pydantic reads these as schemas (Python < 3.12)

from app.data.drawing_mix import DrawingCounts
from app.jsontypes import JSONObject
from app.nn.protocol import Status
from app.runs.executor import PlacementInfo
from app.runs.gallery import Mistake


class Progress(TypedDict):
    step: int
    epoch: float
    epochs: int
    samples_seen: int
    total_samples: int
    fraction: float
    eta_seconds: float | None


class ProgressState(TypedDict):
    """The trainer's latest report of where it is (stored as the run's `progress`)."""

    step: int
    epoch: float
    samples_seen: int
    eta_seconds: float | None


class Latest(TypedDict):
    cost: float | None
    batch_accuracy: float | None
    samples_per_second: float | None
    learning_rate: float | None


class MetricPoints(TypedDict):
    step: list[int]
    epoch: list[float]
    cost: list[float | None]
    accuracy: list[float]


class Evaluation(TypedDict):
    epoch: int
    step: int
    validation_accuracy: float | None
    test_accuracy: float | None
    confusion: list[list[int]]
    mistakes: list[Mistake]
    # fashion (issue 17 §3): the name of each label 0..9 of the run's dataset (absent in runs
    # stored before datasets had names: digits).
    class_names: NotRequired[list[str]]
    # finetune (issue 17 §2): accuracy on the run's held-out drawings; null when it has none.
    drawings_accuracy: float | None


class History(TypedDict):
    metrics: MetricPoints
    evaluations: list[Evaluation]


class StatusMessage(TypedDict):
    """What watchers hear when a run's status, queue position, speed or place changes."""

    status: Status
    reason: str | None
    queue_position: int | None
    speed: float | None
    placement: PlacementInfo | None


# TrainConfig's fields as JSON (app/nn/config.py declares them), plus "preset" when the run
# started from one.
RunConfigJSON = Annotated[
    JSONObject,
    Field(description="the resolved training config, and the `preset` it started from if any"),
]


class RunInfo(TypedDict):
    id: str
    status: Status
    config: RunConfigJSON
    created: str
    started: str | None
    finished: str | None
    reason: str | None
    model_id: str | None
    owner: Annotated[str, Field(description="the id of the learner who started it")]
    owner_name: Annotated[str, Field(description="their display name (text they chose)")]
    queue_position: Annotated[
        int | None,
        Field(description="while queued for a training slot: 1 = the next to start"),
    ]
    speed: Annotated[
        float | None,
        Field(description="mini-batches a second in slow motion; null = full speed"),
    ]
    parked: Annotated[
        bool,
        Field(
            description="paused for NNP_PAUSED_SLOT_SECONDS: its worker ended after a "
            "checkpoint and gave its training slot back; resume queues it for a slot again"
        ),
    ]
    best_test_accuracy: Annotated[
        float | None, Field(description="the best test accuracy of its evaluations so far")
    ]
    placement: Annotated[
        PlacementInfo | None,
        Field(description="where its latest worker trained (null before it started)"),
    ]
    progress: Progress
    latest: Latest | None
    drawings: Annotated[
        DrawingCounts | None,
        Field(
            description="its labelled drawings (issue 17 §2): how many train and how many are "
            "held out for `drawings_accuracy`; null when it trains on MNIST alone"
        ),
    ]


class RunDetail(RunInfo):
    history: History

"""Request and response models of class mode (docs/api.md: Identity, Limits)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field

from app.api.schemas import Strict, examples
from app.store.learners import MAX_NAME_LENGTH
from app.store.metadata import MAX_NAME_LENGTH as MAX_MODEL_NAME_LENGTH

# Text that starts and ends with a visible character and holds no control character (names
# are shown as text; the store checks the same).
_NO_CONTROL = r"\x00-\x1f\x7f-\x9f"
NAME_PATTERN = rf"^[^\s{_NO_CONTROL}](?:[^{_NO_CONTROL}]*[^\s{_NO_CONTROL}])?$"


class Me(BaseModel):
    id: str = Field(description="your learner id: the `owner` of your runs and models")
    name: str = Field(description="your display name (text; others see it)")
    is_teacher: bool
    class_mode: bool = Field(description="false: a single-user server, whose user is teacher")


class MePatch(Strict):
    model_config = examples({"name": "ada"})

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN)


class TokenResponse(BaseModel):
    token: str = Field(
        description="send it as 'Authorization: Bearer <token>'; shown once (only its hash is kept)"
    )


class ModelPatch(Strict):
    model_config = examples({"name": "my best network", "shared": True})

    name: str | None = Field(
        default=None, min_length=1, max_length=MAX_MODEL_NAME_LENGTH, pattern=NAME_PATTERN
    )
    shared: bool | None = None  # each field left out (or null) stays as it is


class LearnerLimits(BaseModel):
    """What each learner may have at once (the teacher is never limited)."""

    active_runs: int = Field(ge=0, description="live runs (queued, running, paused)")
    max_parameters: int = Field(ge=0, description="the largest network to train or upload")
    models: int = Field(ge=0, description="models (saved and uploaded) to keep")
    rate_predict: int = Field(description="predictions in any 60 seconds (a setting)")
    rate_explain: int = Field(description="explains in any 60 seconds (a setting)")
    rate_runs: int = Field(description="runs started in any 60 seconds (a setting)")


def _whole(value: object) -> object:
    """2.0 is the integer 2 in JSON (as JSON Schema says); 2.5 and "2" stay refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class LimitsPatch(Strict):
    model_config = examples({"active_runs": 2, "models": 10})

    active_runs: Annotated[int, Field(ge=0, le=1000), BeforeValidator(_whole)] | None = None
    max_parameters: Annotated[int, Field(ge=0, le=10**8), BeforeValidator(_whole)] | None = None
    models: Annotated[int, Field(ge=0, le=100_000), BeforeValidator(_whole)] | None = None

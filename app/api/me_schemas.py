"""Request and response models of class mode (docs/api.md: Identity, Limits)."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from app.api.schemas import Strict, examples
from app.store.learners import MAX_NAME_LENGTH
from app.store.metadata import MAX_NAME_LENGTH as MAX_MODEL_NAME_LENGTH


class Me(BaseModel):
    id: str = Field(description="your learner id: the `owner` of your runs and models")
    name: str = Field(description="your display name (text; others see it)")
    is_teacher: bool
    class_mode: bool = Field(description="false: a single-user server, whose user is teacher")


class MePatch(Strict):
    model_config = examples({"name": "ada"})

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)


class TokenResponse(BaseModel):
    token: str = Field(
        description="send it as 'Authorization: Bearer <token>'; shown once (only its hash is kept)"
    )


class ModelPatch(Strict):
    model_config = examples({"name": "my best network", "shared": True})

    name: str | None = Field(default=None, min_length=1, max_length=MAX_MODEL_NAME_LENGTH)
    shared: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> ModelPatch:
        if self.name is None and self.shared is None:
            raise ValueError("give 'name' and/or 'shared'")
        return self


class LearnerLimits(BaseModel):
    """What each learner may have at once (the teacher is never limited)."""

    active_runs: int = Field(ge=0, description="live runs (queued, running, paused)")
    max_parameters: int = Field(ge=0, description="the largest network to train or upload")
    models: int = Field(ge=0, description="models (saved and uploaded) to keep")
    rate_predict: int = Field(description="predictions in any 60 seconds (a setting)")
    rate_explain: int = Field(description="explains in any 60 seconds (a setting)")
    rate_runs: int = Field(description="runs started in any 60 seconds (a setting)")


class LimitsPatch(Strict):
    model_config = examples({"active_runs": 2, "models": 10})

    active_runs: int | None = Field(default=None, ge=0, le=1000)
    max_parameters: int | None = Field(default=None, ge=0, le=100_000_000)
    models: int | None = Field(default=None, ge=0, le=100_000)

"""Request and response models of /api/explain (docs/api.md, "Explain")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.api.schemas import EXAMPLE_IMAGE, MAX_IMAGE_CHARS, examples
from app.nn.vocab import Cost
from app.store.files import ID_PATTERN

MAX_FULL_GRAD_WEIGHTS = 20_000  # full ∂C/∂W only for layers this small; rows on request beyond


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class GradWeights(_Strict):
    layer: int = Field(ge=0, le=63, description="weight layer index, 0 = first hidden layer")
    neurons: list[int] | None = Field(
        default=None, max_length=64, description="rows (neurons of this layer); absent = all"
    )


MAX_BATCH = 10_000  # the whole MNIST test set: the page's "how bad the network is overall"


class BatchSpec(_Strict):
    source: Literal["train", "test"] = "train"
    size: int = Field(default=32, ge=1, le=MAX_BATCH)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)


class _Drawing(_Strict):
    image: str | None = Field(
        default=None, max_length=MAX_IMAGE_CHARS, description="base64 image, as for predict"
    )
    pixels: list[float] | None = Field(
        default=None, max_length=784, description="784 numbers in 0..1, as for predict"
    )
    model: str | None = Field(default=None, pattern=ID_PATTERN, description="a model id")
    label: int | None = Field(default=None, ge=0, le=9, description="default: the prediction")


class ExplainRequest(_Drawing):
    model_config = examples(
        {"image": EXAMPLE_IMAGE, "model": "3b1b", "label": 1, "grad_weights": [{"layer": 1}]},
        {"batch": {"source": "test", "size": 32, "seed": 0}, "model": "3b1b"},
    )

    batch: BatchSpec | None = None
    grad_weights: list[GradWeights] = Field(default_factory=list, max_length=16)

    @model_validator(mode="after")
    def _one_input(self) -> ExplainRequest:
        given = sum(v is not None for v in (self.image, self.pixels, self.batch))
        if given != 1:
            raise ValueError("give exactly one of 'image', 'pixels' or 'batch'")
        if self.batch is not None and self.label is not None:
            raise ValueError("'label' is for one drawing; a batch uses its digits' own labels")
        return self


class StepRequest(_Drawing):
    model_config = examples(
        {"image": EXAMPLE_IMAGE, "model": "3b1b", "label": 1, "learning_rate": 1.0, "steps": 5}
    )

    learning_rate: float = Field(default=1.0, gt=0, le=100)
    steps: int = Field(default=1, ge=1, le=50)

    @model_validator(mode="after")
    def _one_input(self) -> StepRequest:
        if (self.image is None) == (self.pixels is None):
            raise ValueError("give exactly one of 'image' or 'pixels'")
        return self


class GradWeightsOut(BaseModel):
    layer: int
    neurons: list[int]  # the rows given, in order
    values: list[list[float]]  # (len(neurons), n_{l-1})


class ExplainResponse(BaseModel):
    model: str
    count: int  # examples averaged: 1 for a drawing
    cost_function: Cost
    digit: int | None  # the prediction (absent for a batch)
    label: int | None  # the label used
    probabilities: list[float]
    cost: float
    cost_terms: list[float]
    zs: list[list[float]]
    activations: list[list[float]]
    grad_activations: list[list[float]]
    grad_biases: list[list[float]]
    grad_weights: list[GradWeightsOut]


class StepState(BaseModel):
    cost: float
    digit: int
    probabilities: list[float]


class StepResponse(BaseModel):
    model: str
    label: int
    learning_rate: float
    states: list[StepState]  # before the first step, then after each step (steps + 1)

"""The schema of `GET /api/models/{id}/export?format=json` (the other formats are files)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.nn.export import JsonFormat, JsonVersion
from app.nn.vocab import Activation, Cost, OutputFunction


class ExportedLayer(BaseModel):
    weights: list[list[float]] = Field(description="n_l rows of n_{l-1}: z = W·a + b")
    biases: list[float] = Field(description="n_l values")


class ExportedNetwork(BaseModel):
    """A network as plain JSON, for a forward pass written elsewhere: for each layer but the
    last a = activation(W·a + b); the last applies `output_function` instead."""

    format: JsonFormat
    version: JsonVersion
    sizes: list[int] = Field(description="inputs, hidden layer sizes, outputs")
    activation: Activation
    cost: Cost
    output_function: OutputFunction
    input: str = Field(description="what the input values are")
    layers: list[ExportedLayer] = Field(description="input layer first")

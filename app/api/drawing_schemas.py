"""Request and response models of /api/drawings and /api/class/drawings (issue 17)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, model_validator

from app.api.me_schemas import _whole as whole  # 2.0 is the integer 2 in JSON
from app.api.schemas import EXAMPLE_IMAGE, MAX_IMAGE_CHARS, Strict, examples
from app.nn.vocab import DrawingSource

Label = Field(ge=0, le=9, description="the digit the drawing shows, 0-9")
LabelInput = Annotated[int, Label, BeforeValidator(whole)]
Counts = Field(description='drawings per digit: {"0": n, ..., "9": n}')


class DrawingCreate(Strict):
    """A drawing as predict takes it (exactly one of `image` or `pixels`) and its label."""

    model_config = examples({"image": EXAMPLE_IMAGE, "label": 1, "source": "correction"})

    image: str | None = Field(
        default=None,
        max_length=MAX_IMAGE_CHARS,
        description="base64 PNG/JPEG/WebP, optionally a data: URL (kept as PNG)",
    )
    pixels: list[float] | list[list[float]] | None = Field(
        default=None,
        max_length=784,
        description="784 numbers in 0..1, or 28 rows of 28; light ink on dark, used as is",
    )
    label: LabelInput
    source: Literal["correction", "example"] = Field(
        default="example",
        description='"correction" when the prediction was wrong, "example" for a right one',
    )

    @model_validator(mode="after")
    def _one_input(self) -> DrawingCreate:
        if (self.image is None) == (self.pixels is None):
            raise ValueError("give exactly one of 'image' or 'pixels'")
        return self


class DrawingPatch(Strict):
    model_config = examples({"label": 7})

    label: LabelInput


class DrawingInfo(BaseModel):
    id: str
    label: int = Label
    owner: str = Field(description="the id of who made it")
    owner_name: str = Field(description="their display name")
    created: float = Field(description="Unix time it was stored")
    width: int = Field(description="of the stored image, in pixels")
    height: int
    source: DrawingSource
    input: list[float] | None = Field(
        default=None,
        description="the network's input (784 numbers, 0..1), only with ?include=input",
    )


class DrawingList(BaseModel):
    drawings: list[DrawingInfo]
    counts: dict[str, int] = Counts


class ImportResult(BaseModel):
    imported: int
    counts: dict[str, int] = Counts


class ClassDrawings(BaseModel):
    """The class dataset: a snapshot of everyone's drawings taken when the teacher pooled."""

    count: int
    counts: dict[str, int] = Counts
    pooled_at: float | None = Field(description="Unix time of the pooling; null: none")

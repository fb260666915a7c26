"""Request and response models: the pydantic side of docs/api.md."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator
from pydantic.config import JsonDict

from app.jsontypes import JSONObject
from app.nn import vocab  # fashion (issue 17 §3): vocab.DatasetName
from app.nn.config import MAX_LEARNING_RATE, ConfigField, TrainConfig, config_fields
from app.nn.protocol import MAX_SPEED, Status
from app.nn.vocab import Activation, Cost, LrSchedule, OptimizerName, OutputFunction
from app.presets import PRESETS

# A run's public shape is declared once, in app/runs: the API answers it as it is.
from app.runs.gallery import RunDigit as RunDigit
from app.runs.info import RunDetail as RunDetail
from app.runs.info import RunInfo as RunInfo
from app.store.files import ID_PATTERN

Include = Literal["input", "activations", "zs"]

MAX_IMAGE_CHARS = 4_000_000  # base64 of the largest body the size limit lets through
# A drawn "1" (a 56×56 PNG, dark ink on white), for the request examples /docs sends as they
# are ("Try it out"); tests/api/test_examples.py sends every example to the server.
EXAMPLE_IMAGE = (
    "iVBORw0KGgoAAAANSUhEUgAAADgAAAA4CAAAAACN7WTCAAAAVklEQVR42u3WUQoAIAgD0C28/5XXCUzyo0DWrzxyJR"
    "SF3loYA5kVoscAqma625HnDNFj+eHo/XUIgHSfsex2Nd2kITc0NDQ0NPwP0w8Sixd6QkYPALABtxwMb1jg/UcAAAAASUVORK5CYII="
)


def examples(*bodies: JsonDict) -> ConfigDict:
    """A request model's `examples` in its JSON schema (Swagger UI fills "Try it out" with the
    first)."""
    return ConfigDict(json_schema_extra={"examples": list(bodies)})


class Strict(BaseModel):
    # JSON bodies may spell NaN/Infinity (Python's parser accepts them): refuse them here.
    # Strict: no coercion ("16" or true is not an int, "yes" not a bool); an int is still a
    # valid float (pydantic's strict mode allows int -> float).
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class ErrorResponse(BaseModel):
    """Every error: a human-readable `detail` (FastAPI's validation errors keep a list)."""

    detail: str | list[JSONObject]  # FastAPI's validation errors


# -- predict ------------------------------------------------------------------------------


class PredictRequest(Strict):
    model_config = examples(
        {"image": EXAMPLE_IMAGE, "model": "accurate", "include": ["activations"]}
    )

    image: str | None = Field(
        default=None,
        max_length=MAX_IMAGE_CHARS,
        description="base64 PNG/JPEG/WebP, optionally a data: URL",
    )
    pixels: list[float] | list[list[float]] | None = Field(
        default=None,
        max_length=784,
        description="784 numbers in 0..1, or 28 rows of 28; light ink on dark, used as is",
    )
    model: str | None = Field(default=None, pattern=ID_PATTERN, description="a model id")
    include: list[Include] = Field(default_factory=list, max_length=3)

    @model_validator(mode="after")
    def _one_input(self) -> PredictRequest:
        if (self.image is None) == (self.pixels is None):
            raise ValueError("give exactly one of 'image' or 'pixels'")
        return self


class PredictNote(BaseModel):
    """Why the drawing cannot really be read (too small, too little ink)."""

    code: str = Field(description="too_small | too_little_ink")
    message: str = Field(description="a short sentence to show the person")


class PredictResponse(BaseModel):
    digit: int
    confidence: float
    probabilities: list[float]
    model: str
    input: list[float] | None = None
    activations: list[list[float]] | None = None
    zs: list[list[float]] | None = None
    note: PredictNote | None = Field(
        default=None,
        description="null when the drawing can be read; otherwise why not, and digit and "
        "probabilities are only a guess",
    )


# -- models -------------------------------------------------------------------------------


class ModelInfo(BaseModel):
    id: str
    name: str
    sizes: list[int]
    activation: str
    cost: str
    parameters: int
    test_accuracy: float | None
    created: str | None
    source_run: str | None
    shipped: bool
    owner: str | None = Field(description="the id of the learner who stored it; null: shipped")
    owner_name: str | None = Field(description="their display name (text); null: shipped")
    shared: bool = Field(description="others may use it (shipped models always are)")
    default: bool
    broken: bool = False
    reason: str | None = Field(default=None, description="why a broken model failed to load")
    # fashion (issue 17 §3)
    dataset: str = Field(default="mnist", description="the dataset it was trained on")
    class_names: list[str] = Field(
        default_factory=lambda: [str(d) for d in range(10)],
        description='the name of each output, 0 first: "0" … "9" for MNIST models',
    )
    # handwriting (issue 17 §5)
    deslant: bool = Field(
        default=False,
        description='it reads drawings deslanted by their moments (its metadata\'s "deslant")',
    )
    strokes: bool = Field(
        default=False,
        description="it reads drawings with their stroke width normalised to MNIST's "
        '(its metadata\'s "strokes")',
    )


class ModelList(BaseModel):
    default: str | None
    models: list[ModelInfo]


class DefaultModel(Strict):
    model_config = examples({"id": "accurate"})

    id: str = Field(pattern=ID_PATTERN)


class DefaultModelResponse(BaseModel):
    default: str


class DreamsResponse(BaseModel):
    """GET /api/models/{id}/dreams: for each output digit, the input that maximises it."""

    model: str
    digits: list[int] = Field(description="the digit each image maximises: 0..9")
    images: list[list[float]] = Field(
        description="one 28×28 image per digit, 784 values in 0..1 row by row (4 decimals)"
    )
    probabilities: list[list[float]] = Field(
        description="what the model says of each image: 10 probabilities, as predict reports"
    )
    steps: int = Field(description="gradient-ascent steps taken")
    seconds: float = Field(description="how long computing them took (once per model)")
    cached: bool = Field(description="true when this answer came from the cache")


class NetworkJSON(BaseModel):
    sizes: list[int]
    activation: str
    cost: str
    weights: list[list[list[float]]]
    biases: list[list[float]]
    downsampled: bool = Field(
        description="true for a big network: each layer's weights keep only its "
        "`kept_per_layer` strongest, the rest are 0 (the .npz download has them all)"
    )
    kept_per_layer: int | None = Field(description="with `downsampled`; else null")


# -- digits -------------------------------------------------------------------------------


class Digit(BaseModel):
    index: int
    label: int
    class_name: str = Field(description="the label's name in its dataset: '7', 'Sneaker'")
    dataset: vocab.DatasetName = Field(description="the dataset whose test image it is")
    pixels: list[float]


class RunDigits(BaseModel):
    digits: list[RunDigit]


# -- runs ---------------------------------------------------------------------------------


def _one_of(choices: tuple[str, ...] | list[str]) -> JsonDict:
    """The schema's enum for an optional choice; app/presets validates it (ConfigError → 422)."""
    return {"enum": [*choices, None]}


class RunCreateBase(Strict):
    """A training config; every field optional: `preset` fills the rest, fields override.

    The fields, their bounds and descriptions come from TrainConfig's declaration
    (app/nn/config.py); the parameter limit (`max_parameters` in /api/presets) is checked on
    the whole network."""

    model_config = examples({"preset": "3b1b", "epochs": 2, "learning_rate": 0.5})

    preset: str | None = Field(
        default=None,
        description="the recipe to start from; the other fields override it",
        json_schema_extra=_one_of(list(PRESETS)),
    )


def _run_field(spec: ConfigField) -> tuple[Any, Any]:  # Any: a type form and its FieldInfo
    """The pydantic (type, Field) of one TrainConfig field in RunCreate: optional, None =
    "keep the preset's value"."""
    opt = spec.option
    bounds = opt.bounds()
    if spec.kind is list:
        item = Annotated[int, Field(**bounds)]
        field = Field(
            default=None, min_length=opt.min_items, max_length=opt.max_items,
            description=opt.help,
        )  # fmt: skip
        return list[item] | None, field
    extra = _one_of(opt.choices) if opt.choices else None
    field = Field(  # type: ignore[call-overload]
        default=None, description=opt.help, json_schema_extra=extra, max_length=opt.max_length,
        **bounds,
    )  # fmt: skip
    return spec.kind | None, field


def run_create_model(config: type[TrainConfig] = TrainConfig) -> type[RunCreateBase]:
    """RunCreate: `preset` plus every field of `config`, each optional."""
    fields: dict[str, Any] = {  # Any: create_model's (type form, FieldInfo) pairs
        spec.name: _run_field(spec) for spec in config_fields(config)
    }
    return create_model(
        "RunCreate", __base__=RunCreateBase, __doc__=RunCreateBase.__doc__, **fields
    )


if TYPE_CHECKING:
    RunCreate = RunCreateBase
else:
    RunCreate = run_create_model()


class RunPatch(Strict):
    model_config = examples({"learning_rate": 0.05})

    learning_rate: float = Field(
        gt=0, le=MAX_LEARNING_RATE, description="takes effect from the next step"
    )


class SpeedRequest(Strict):
    model_config = examples({"batches_per_second": 5})

    batches_per_second: float | None = Field(
        gt=0,
        le=MAX_SPEED,
        description="slow motion: at most this many mini-batches a second; null = full speed",
    )


class SaveRequest(Strict):
    model_config = examples({"name": "my first network"})

    name: str | None = Field(default=None, min_length=1, max_length=80)


class RunList(BaseModel):
    runs: list[RunInfo]


# -- presets, health ----------------------------------------------------------------------


class Limits(BaseModel):
    max_parameters: int
    max_epochs: int
    max_batch_size: int
    max_layers: int
    max_layer_size: int


class PresetsResponse(BaseModel):
    """Every preset by name (a resolved TrainConfig each), plus the validation limits."""

    model_config = ConfigDict(extra="allow")

    limits: Limits


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    models: int
    live_runs: int


class Choices(BaseModel):
    activation: list[Activation]
    cost: list[Cost]
    optimizer: list[OptimizerName]
    lr_schedule: list[LrSchedule]
    dataset: list[vocab.DatasetName]  # fashion (issue 17 §3)
    data: list[vocab.DataMix]  # finetune (issue 17 §2)
    drawings_pool: list[vocab.DrawingsPool]


class DatasetInfo(BaseModel):
    """One dataset of the registry (app/data/datasets.py), as /api/vocabulary lists it."""

    name: vocab.DatasetName
    title: str = Field(description='e.g. "Fashion-MNIST"')
    class_names: list[str] = Field(description="the name of each label, 0 first")


class Vocabulary(BaseModel):
    """The words the page must not repeat: run statuses (in lifecycle order, and which of them
    are live or ended), the training config's choices, the network's input and output sizes
    and which output function each cost goes with, each from its one declaration."""

    statuses: list[Status]
    live_statuses: list[Status]
    ended_statuses: list[Status]
    choices: Choices
    input_size: int = Field(description="inputs of every network: 28×28 pixels")
    output_size: int = Field(description="outputs of every network: one per digit")
    datasets: list[DatasetInfo] = Field(  # fashion (issue 17 §3)
        default_factory=list, description="the datasets a run can train on, with class names"
    )
    output_for_cost: dict[Cost, OutputFunction] = Field(
        description="the output layer's function for each cost: quadratic cost goes with "
        "sigmoid outputs (normalised by their sum), cross-entropy with softmax"
    )

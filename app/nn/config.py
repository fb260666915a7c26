"""The training config, declared once: every field with its type, default, help, choices and
bounds.

`TrainConfig` is the one declaration. Each field carries an `Option` (its help text, choices
and bounds) in its dataclass metadata; from it, and from the field's type and default, come

* the validation every entry point shares (`app.presets.validate_config`),
* the HTTP API's request schema (`RunCreate` in app/api/schemas.py, built with pydantic's
  `create_model`),
* the `nn-playground train` options (app/cli.py).

Adding a training option is one line here: `name: type = option(default, "help", ...)`
(the Trainer then has to use it). Supported types: bool, int, float, a `Literal` of strings
from app/nn/vocab.py (its words are the field's `choices`), `int | None` / `float | None`
(None = not used), `str | None` (an id, up to `max_length` characters), and `list[int]`
(bounds apply to the items, `min_items`/`max_items` to the list).
"""

from __future__ import annotations

import dataclasses
import itertools
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from typing import TypedDict, TypeVar, Unpack

from app.jsontypes import JSONObject
from app.nn import vocab  # fashion (issue 17 §3): vocab.DatasetName
from app.nn.vocab import INPUT_SIZE, OUTPUT_SIZE, Activation, Cost, LrSchedule, OptimizerName

MAX_PARAMETERS = 2_500_000
MAX_EPOCHS = 100
MAX_BATCH_SIZE = 4096
MAX_LAYERS = 6
MAX_LAYER_SIZE = 1024
MAX_TRAIN_SUBSET = 55_000
MAX_VALIDATION_SIZE = 30_000
MAX_REPORT_EVERY = 100_000
MAX_AUGMENT_STRENGTH = 2.0
MAX_SEED = 2**63 - 1
MAX_MODEL_ID = 64  # characters of a model id (app/store/files.py's ID_PATTERN allows fewer)
# One bound for creation (API, CLI) and PATCH. Large, so a divergence can still be shown.
MAX_LEARNING_RATE = 1e10

Number = int | float
ConfigValue = bool | int | float | str | list[int] | None  # what a TrainConfig field holds
T = TypeVar("T")


def parameter_count(sizes: Sequence[int]) -> int:
    """Weights plus biases of a fully connected network with these layer sizes."""
    return sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes))


@dataclass(frozen=True)
class Option:
    """What a TrainConfig field means to a person and which values it takes.

    Bounds are inclusive (`ge`, `le`) or exclusive (`gt`, `lt`); for a list they bound each
    item. `choices`: the only values a str field takes (config_fields fills them in from the
    field's Literal type)."""

    help: str
    choices: tuple[str, ...] | None = None
    ge: Number | None = None
    gt: Number | None = None
    le: Number | None = None
    lt: Number | None = None
    min_items: int | None = None
    max_items: int | None = None
    max_length: int | None = None  # a str field without choices: at most this many characters

    def bounds(self) -> dict[str, Number]:
        """The bounds that are set, by pydantic's names (ge, gt, le, lt)."""
        given = {"ge": self.ge, "gt": self.gt, "le": self.le, "lt": self.lt}
        return {key: value for key, value in given.items() if value is not None}


class Limits(TypedDict, total=False):
    """The bounds and counts of an Option (its fields but `help` and `choices`)."""

    ge: Number
    gt: Number
    le: Number
    lt: Number
    min_items: int
    max_items: int
    max_length: int


def show(value: Number) -> str:
    """A bound as people read it: ints exactly (2**63 - 1 too), floats short (1e+10)."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def option(default: T, help: str, **limits: Unpack[Limits]) -> T:
    """A TrainConfig field: its default and its `Option` (see Option for `limits`)."""
    meta = {"option": Option(help, **limits)}
    if isinstance(default, list):
        items = list(default)
        return dataclasses.field(default_factory=lambda: list(items), metadata=meta)  # type: ignore[return-value]
    return dataclasses.field(default=default, metadata=meta)


@dataclass
class TrainConfig:
    """Everything that defines a training run. Input (784) and output (10) sizes are implied."""

    # fashion (issue 17 §3): the registry entry (app/data/datasets.py) the run trains on.
    dataset: vocab.DatasetName = option("mnist", "what to train on: MNIST digits or Fashion-MNIST")
    layers: list[int] = option(
        [16, 16], "hidden layer sizes, e.g. 16,16", ge=1, le=MAX_LAYER_SIZE,
        min_items=1, max_items=MAX_LAYERS,
    )  # fmt: skip
    activation: Activation = option("sigmoid", "activation of every layer")
    cost: Cost = option("quadratic", "cost function (cross_entropy: softmax outputs)")
    optimizer: OptimizerName = option("adam", "update rule")
    learning_rate: float = option(0.001, "step size (the peak of a schedule)", gt=0,
                                  le=MAX_LEARNING_RATE)  # fmt: skip
    batch_size: int = option(32, "training images per mini-batch", ge=1, le=MAX_BATCH_SIZE)
    epochs: int = option(10, "passes over the training images", ge=1, le=MAX_EPOCHS)
    l2: float = option(0.0, "L2 weight penalty", ge=0)
    momentum: float = option(0.9, "momentum of the momentum optimizer", ge=0, lt=1)
    augment: bool = option(False, "distort training images (shift, rotate, scale, warp, ...)")
    deslant: bool = option(False, "deslant every image by its moments (the model expects it)")
    strokes: bool = option(
        False, "normalise every image's stroke width to MNIST's (the model expects it)"
    )
    # Scales every distortion of augment_batch (shift, rotation, scaling, shear, thickness,
    # elastic); 1.0 = augment_options' defaults. Small networks learn best from milder ones.
    augment_strength: float = option(
        1.0, "scale of every distortion of augment (1 = the defaults)", gt=0,
        le=MAX_AUGMENT_STRENGTH,
    )  # fmt: skip
    seed: int = option(0, "random seed (weights, order, distortions)", ge=0, le=MAX_SEED)
    train_subset: int | None = option(
        None, "train on the first N training images only", ge=1, le=MAX_TRAIN_SUBSET
    )
    validation_size: int = option(
        5000, "images held out from the 60,000 for validation (0: none)", ge=0,
        le=MAX_VALIDATION_SIZE,
    )  # fmt: skip
    lr_schedule: LrSchedule = option("constant", "how the learning rate changes over the run")
    report_every: int = option(10, "steps between metrics reports", ge=1, le=MAX_REPORT_EVERY)
    # finetune (issue 17 §2): labelled drawings in the batches, and a model to start from.
    data: vocab.DataMix = option(
        "mnist", "what the batches come from: MNIST, labelled drawings only, or a mix"
    )
    drawings_fraction: float = option(
        0.5, "in a mix: the share of each batch drawn from the drawings", gt=0, lt=1
    )
    drawings_pool: vocab.DrawingsPool = option(
        "mine", "whose drawings: your own, or the class dataset the teacher pooled"
    )
    from_model: str | None = option(
        None, "start from this model's weights (its architecture too) instead of new ones",
        max_length=MAX_MODEL_ID,
    )  # fmt: skip

    def sizes(self) -> list[int]:
        """Layer sizes including input and output: [784, *layers, 10]."""
        return [INPUT_SIZE, *self.layers, OUTPUT_SIZE]

    def to_dict(self) -> JSONObject:
        """A JSON-ready copy."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: JSONObject) -> TrainConfig:
        """Build from a dict; unknown keys raise ValueError naming them (types are not checked
        here: see `app.presets.validate_config`)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown training option(s): {', '.join(unknown)}")
        values = dict(data)
        if "layers" in values and values["layers"] is not None:
            values["layers"] = list(values["layers"])
        return cls(**values)


@dataclass(frozen=True)
class ConfigField:
    """One TrainConfig field as the derivations see it."""

    name: str
    kind: type  # bool, int, float, str, or list (of int)
    optional: bool  # None is a valid value (e.g. train_subset: not used)
    default: ConfigValue
    option: Option


def _kind(hint: object) -> tuple[type, bool]:
    """(base type, whether None is allowed) of a field's type hint; a Literal of strings is str."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Literal:
        if not args or not all(isinstance(a, str) for a in args):
            raise TypeError(f"unsupported TrainConfig type {hint!r}: Literals hold strings")
        return str, False
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"unsupported TrainConfig type {hint!r}")
        return _kind(rest[0])[0], True
    origin = typing.get_origin(hint)
    if origin is list:
        if args != (int,):
            raise TypeError(f"unsupported TrainConfig type {hint!r}: lists hold ints")
        return list, False
    if hint in (bool, int, float, str):
        return hint, False
    raise TypeError(f"unsupported TrainConfig type {hint!r}")


def config_fields(config: type[TrainConfig] = TrainConfig) -> Iterator[ConfigField]:
    """Every field of `config` (TrainConfig or a subclass), in declaration order, with its type
    and Option."""
    hints = typing.get_type_hints(config)
    defaults = config()
    for f in fields(config):
        hint = hints[f.name]
        kind, optional = _kind(hint)
        opt: Option = f.metadata["option"]
        if typing.get_origin(hint) is typing.Literal:
            opt = dataclasses.replace(opt, choices=typing.get_args(hint))
        yield ConfigField(f.name, kind, optional, getattr(defaults, f.name), opt)

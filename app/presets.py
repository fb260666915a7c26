"""Named training recipes, and the validation every entry point (CLI, HTTP API) shares.

`resolve_config(preset, overrides)` starts from a preset (or the TrainConfig defaults), applies
the explicitly given fields and validates the result; a bad value raises `ConfigError`, a
ValueError whose message starts with the field's name and whose `field` attribute names it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

from app.nn.config import (
    MAX_AUGMENT_STRENGTH,
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    MAX_LAYER_SIZE,
    MAX_LAYERS,
    MAX_LEARNING_RATE,
    MAX_PARAMETERS,
    MAX_REPORT_EVERY,
    MAX_TRAIN_SUBSET,
    MAX_VALIDATION_SIZE,
    ConfigField,
    ConfigValue,
    TrainConfig,
    config_fields,
    parameter_count,
    show,
)
from app.nn.vocab import INPUT_SIZE, OUTPUT_SIZE

__all__ = [
    "DEFAULT_PRESET", "LIMITS", "MAX_AUGMENT_STRENGTH", "MAX_BATCH_SIZE", "MAX_EPOCHS",
    "MAX_LAYERS", "MAX_LAYER_SIZE", "MAX_LEARNING_RATE", "MAX_PARAMETERS", "MAX_REPORT_EVERY",
    "MAX_TRAIN_SUBSET", "MAX_VALIDATION_SIZE", "PRESETS", "ConfigError", "parameter_count",
    "preset_config", "resolve_config", "validate_config",
]  # fmt: skip

# The limits are declared with the fields they bound, in app/nn/config.py.
LIMITS: dict[str, int] = {
    "max_parameters": MAX_PARAMETERS,
    "max_epochs": MAX_EPOCHS,
    "max_batch_size": MAX_BATCH_SIZE,
    "max_layers": MAX_LAYERS,
    "max_layer_size": MAX_LAYER_SIZE,
}

PRESETS: dict[str, TrainConfig] = {
    # The video's network: 784-16-16-10, sigmoid everywhere, quadratic cost. It overfits
    # (Adam: ~97.5% on the training images, ~94.7% on the test set). What worked here, without
    # changing the network: SGD with momentum at a large rate, a cosine decay and a little L2:
    # 95.94 / 96.10 / 96.11% test for seeds 0 / 1 / 2, ~9 s. Weaker L2 or Adam overfit, stronger
    # L2 underfits; mild augmentation (with Adam) took ~10x the time and ended at 95.2%.
    "3b1b": TrainConfig(
        layers=[16, 16],
        activation="sigmoid",
        cost="quadratic",
        optimizer="momentum",
        learning_rate=0.5,
        momentum=0.9,
        l2=5e-5,
        batch_size=32,
        epochs=60,
        lr_schedule="cosine",
        report_every=25,
    ),
    # 784-256-128-10 ReLU, softmax + cross-entropy, Adam with a one-cycle rate, batch 128, 32
    # epochs of the default augmentation: mild affine distortions plus elastic ones (Simard et
    # al. 2003), so freeform drawings are recognised. Chosen on the validation split (the last
    # 5,000 training images) among the candidates in bench/README.md; the test set only
    # reports. 235k float32 parameters: a 0.9 MB file. Augmentation costs about 3/4 of the
    # training step's CPU; it runs in a producer thread, on the second core.
    # Issue 17 §5: every image deslanted by its moments (app/data/deslant.py; the model file
    # says so and drawings are deslanted the same way): on the validation split of the
    # training set and the page-pen drawings of bench/handwriting.py it read more slanted
    # writing without losing MNIST. Also stroke-width normalisation (app/data/strokes.py: a
    # digit whose strokes are thicker than MNIST's middle 80% of widths is thinned into it, in
    # training and on every drawing): drawings made with a fixed pen (bench/drawings-strokes)
    # read better, validation split, dev drawings and MNIST test as before (bench/README.md).
    # Seed 0 (the default): with the final transform (thin strokes left as they are) it read
    # the validation split (99.36% vs 99.34%) and the dev drawings (98.8% vs 97.6%) better than
    # seed 1, which the first version of the transform had chosen.
    "accurate": TrainConfig(
        layers=[256, 128],
        activation="relu",
        cost="cross_entropy",
        optimizer="adam",
        learning_rate=0.003,
        batch_size=128,
        epochs=32,
        augment=True,
        deslant=True,
        strokes=True,
        lr_schedule="onecycle",
        report_every=5,
    ),
}
DEFAULT_PRESET = "3b1b"


class ConfigError(ValueError):
    """An invalid training option; `field` names it and the message starts with it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _number(field: str, value: object, spec: ConfigField) -> int | float:
    """`value` as the field's number type, within its Option's bounds."""
    # bool is an int subclass; "epochs": true is a mistake, not 1.
    if spec.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(field, f"must be a whole number, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(field, f"must be a number, got {value!r}")
    number: int | float = value if spec.kind is int else float(value)
    if not math.isfinite(number):
        raise ConfigError(field, f"must be finite, got {number}")
    opt = spec.option
    if opt.ge is not None and opt.le is not None and not opt.ge <= number <= opt.le:
        raise ConfigError(
            field, f"must be between {show(opt.ge)} and {show(opt.le)}, got {show(number)}"
        )
    checks = (
        (opt.ge, lambda bound: number < bound, "must be at least"),
        (opt.gt, lambda bound: number <= bound, "must be greater than"),
        (opt.le, lambda bound: number > bound, "must be at most"),
        (opt.lt, lambda bound: number >= bound, "must be below"),
    )
    for bound, broken, words in checks:
        if bound is not None and broken(bound):
            raise ConfigError(field, f"{words} {show(bound)}, got {show(number)}")
    return number


def _layers(value: object, spec: ConfigField) -> list[int]:
    low, high = spec.option.min_items or 0, spec.option.max_items or MAX_LAYERS
    if not isinstance(value, list | tuple) or not low <= len(value) <= high:
        raise ConfigError(spec.name, f"give {low} to {high} hidden layer sizes, got {value!r}")
    item = ConfigField(spec.name, int, False, None, spec.option)
    layers = [int(_number(spec.name, n, item)) for n in value]
    count = parameter_count([INPUT_SIZE, *layers, OUTPUT_SIZE])
    if count > MAX_PARAMETERS:
        raise ConfigError(
            spec.name, f"{count:,} parameters is more than the limit of {MAX_PARAMETERS:,}"
        )
    return layers


def _text(spec: ConfigField, value: object) -> str:
    """A free str field (a model id): 1 to `max_length` characters."""
    longest = spec.option.max_length
    if not isinstance(value, str) or not value or (longest is not None and len(value) > longest):
        raise ConfigError(spec.name, f"give an id of 1 to {longest} characters, got {value!r}")
    return value


def _value(spec: ConfigField, value: object) -> ConfigValue:
    """One field's value checked against its declaration (app/nn/config.py)."""
    if value is None and spec.optional:
        return None
    if spec.kind is list:
        return _layers(value, spec)
    if spec.kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(spec.name, f"must be true or false, got {value!r}")
        return value
    if spec.kind is str and spec.option.choices is None:
        return _text(spec, value)
    if spec.kind is str:
        choices = spec.option.choices or ()
        if value not in choices:
            raise ConfigError(
                spec.name, f"unknown value {value!r}: choose one of {', '.join(choices)}"
            )
        return value
    return _number(spec.name, value, spec)


def validate_config(config: TrainConfig) -> TrainConfig:
    """Check every field of `config` against its declaration; return it (with numbers
    normalised) or raise ConfigError."""
    specs = config_fields(type(config))
    values = {spec.name: _value(spec, getattr(config, spec.name)) for spec in specs}
    # finetune (issue 17 §2): a mix batch holds a drawing and an MNIST image at least.
    if config.data == "mix" and config.batch_size < 2:
        raise ConfigError("batch_size", "a mix (data: mix) needs at least 2 images a batch")
    return type(config).from_dict(values)


def preset_config(name: str) -> TrainConfig:
    """A fresh copy of preset `name` (ConfigError "preset" if there is none)."""
    if name not in PRESETS:
        raise ConfigError("preset", f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    preset = PRESETS[name]
    return dataclasses.replace(preset, layers=list(preset.layers))


def resolve_config(
    preset: str | None, overrides: Mapping[str, object] | None = None
) -> TrainConfig:
    """The preset's config (TrainConfig defaults when `preset` is None) with `overrides`
    applied, validated. An override of None means "not given" and keeps the preset's value."""
    base = preset_config(preset) if preset is not None else TrainConfig()
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    for key in given:
        if key not in known:
            raise ConfigError(key, "unknown training option")
    return validate_config(TrainConfig.from_dict({**base.to_dict(), **given}))

"""Preset resolution and the validation shared by the CLI and the HTTP API."""

from __future__ import annotations

import math

import pytest

from app.nn.trainer import TrainConfig
from app.presets import (
    LIMITS,
    MAX_PARAMETERS,
    PRESETS,
    ConfigError,
    parameter_count,
    preset_config,
    resolve_config,
    validate_config,
)


def test_presets_are_valid_and_match_the_issue() -> None:
    for name in PRESETS:
        assert validate_config(preset_config(name)) == PRESETS[name]
    video = PRESETS["3b1b"]
    assert (video.sizes(), video.activation, video.cost) == (
        [784, 16, 16, 10],
        "sigmoid",
        "quadratic",
    )
    assert PRESETS["accurate"].augment is True
    # The shipped accurate model must stay under 2 MB of float32 weights.
    assert parameter_count(PRESETS["accurate"].sizes()) * 4 < 2_000_000


def test_resolve_applies_overrides_without_touching_the_preset() -> None:
    config = resolve_config("3b1b", {"epochs": 3, "layers": [32], "learning_rate": None})
    assert config.epochs == 3 and config.layers == [32]
    assert config.learning_rate == PRESETS["3b1b"].learning_rate  # None = not given
    config.layers.append(5)
    assert PRESETS["3b1b"].layers == [16, 16]
    assert resolve_config(None, {}) == validate_config(TrainConfig())


def test_parameter_count() -> None:
    assert parameter_count([784, 16, 16, 10]) == 784 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"learning_rate": math.nan}, "learning_rate"),
        ({"learning_rate": math.inf}, "learning_rate"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"learning_rate": -0.1}, "learning_rate"),
        ({"learning_rate": "fast"}, "learning_rate"),
        ({"epochs": 101}, "epochs"),
        ({"epochs": 0}, "epochs"),
        ({"epochs": True}, "epochs"),
        ({"epochs": 2.5}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 4097}, "batch_size"),
        ({"layers": []}, "layers"),
        ({"layers": [16] * 7}, "layers"),
        ({"layers": [1025]}, "layers"),
        ({"layers": [0]}, "layers"),
        ({"layers": "16,16"}, "layers"),
        ({"layers": [1024, 1024, 1024]}, "layers"),  # 2.9M parameters
        ({"activation": "swish"}, "activation"),
        ({"cost": "hinge"}, "cost"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"lr_schedule": "sawtooth"}, "lr_schedule"),
        ({"train_subset": 0}, "train_subset"),
        ({"train_subset": 55_001}, "train_subset"),
        ({"momentum": 1.0}, "momentum"),
        ({"l2": -1e-4}, "l2"),
        ({"augment": "yes"}, "augment"),
        ({"augment_strength": 3.0}, "augment_strength"),
        ({"dropout": 0.5}, "dropout"),
    ],
)
def test_invalid_values_name_their_field(overrides: dict, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_config("3b1b", overrides)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}:")
    assert "\n" not in str(caught.value)


def test_limits_accept_their_boundaries() -> None:
    config = resolve_config(
        "accurate",
        {"epochs": 100, "batch_size": 4096, "train_subset": 55_000, "layers": [1024] * 2},
    )
    assert parameter_count(config.sizes()) <= MAX_PARAMETERS == LIMITS["max_parameters"]
    assert resolve_config("3b1b", {"batch_size": 1, "layers": [1] * 6}).layers == [1] * 6


def test_unknown_preset() -> None:
    with pytest.raises(ConfigError, match="preset") as caught:
        resolve_config("huge", {})
    assert caught.value.field == "preset"

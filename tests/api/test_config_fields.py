"""TrainConfig is declared once: the API schema, the CLI options and the validation all come
from its fields (app/nn/config.py), so a field added there appears everywhere."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from app.api.schemas import RunCreate, run_create_model
from app.cli import _add_config_options, build_parser
from app.nn.config import TrainConfig, config_fields, option
from app.presets import ConfigError, validate_config

# Written out here, not read from the code: what the API and CLI promise today.
KNOWN = {
    "activation": {"enum": ["sigmoid", "relu", "tanh"]},
    "cost": {"enum": ["quadratic", "cross_entropy"]},
    "optimizer": {"enum": ["sgd", "momentum", "adam"]},
    "lr_schedule": {"enum": ["constant", "cosine", "onecycle"]},
    "epochs": {"minimum": 1, "maximum": 100},
    "batch_size": {"minimum": 1, "maximum": 4096},
    "learning_rate": {"exclusiveMinimum": 0, "maximum": 1e10},
    "momentum": {"minimum": 0, "exclusiveMaximum": 1},
    "train_subset": {"minimum": 1, "maximum": 55_000},
    "validation_size": {"minimum": 0, "maximum": 30_000},
}
SCHEMA_BOUNDS = {
    "ge": "minimum",
    "gt": "exclusiveMinimum",
    "le": "maximum",
    "lt": "exclusiveMaximum",
}


def _property(schema: dict, name: str) -> dict:
    """A RunCreate property: the non-null branch, with the enum and description."""
    prop = schema["properties"][name]
    branch = next(b for b in prop["anyOf"] if b.get("type") != "null")
    return {**branch, **{k: v for k, v in prop.items() if k != "anyOf"}}


def _expected(spec) -> dict:
    out = {SCHEMA_BOUNDS[k]: v for k, v in spec.option.bounds().items()}
    if spec.option.choices:
        out["enum"] = [*spec.option.choices]
    return out


def test_every_field_is_in_the_api_schema_with_its_declared_bounds(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["RunCreate"]
    names = [spec.name for spec in config_fields()]
    assert list(schema["properties"]) == ["preset", *names]
    for spec in config_fields():
        prop = _property(schema, spec.name)
        assert prop["description"] == spec.option.help
        assert prop.get("default") is None  # not given = the preset's value
        if spec.kind is list:
            assert (prop["minItems"], prop["maxItems"]) == (1, 6)
            assert prop["items"] == {"type": "integer", "minimum": 1, "maximum": 1024}
            continue
        expected = _expected(spec)
        got = {k: v for k, v in prop.items() if k in (*SCHEMA_BOUNDS.values(), "enum")}
        if "enum" in got:
            got["enum"] = [v for v in got["enum"] if v is not None]
        assert got.keys() == expected.keys(), spec.name
        for key, value in expected.items():  # JSON numbers: 2**63 - 1 arrives as a float
            assert got[key] == (value if key == "enum" else pytest.approx(value)), spec.name
    for name, promised in KNOWN.items():
        prop = _property(schema, name)
        for key, value in promised.items():
            got = prop[key] if key != "enum" else [v for v in prop[key] if v is not None]
            assert got == value, (name, key)


def _train_actions() -> dict[str, argparse.Action]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices["train"]._actions}


def test_every_field_is_a_train_option_with_its_declared_choices_and_bounds() -> None:
    actions = _train_actions()
    for spec in config_fields():
        action = actions[spec.name]
        assert action.option_strings[0] == "--" + spec.name.replace("_", "-")
        assert action.default is None  # the preset's value unless given
        assert spec.option.help in action.help
        assert (list(action.choices) if action.choices else None) == (
            list(spec.option.choices) if spec.option.choices else None
        )
    assert list(actions["activation"].choices) == ["sigmoid", "relu", "tanh"]
    assert "(1..4096)" in actions["batch_size"].help
    assert "(1..100)" in actions["epochs"].help
    assert "(>= 0, < 1)" in actions["momentum"].help
    assert "(0..9223372036854775807)" in actions["seed"].help


@dataclass
class _Extended(TrainConfig):
    """A field added the way a new option would be: one line."""

    elastic: float = option(0.0, "elastic distortion strength", ge=0, le=3.0)
    style: str = option("a", "a made-up choice", choices=("a", "b"))


def test_a_new_field_is_derived_everywhere() -> None:
    schema = run_create_model(_Extended).model_json_schema()
    assert _property(schema, "elastic")["maximum"] == 3.0
    assert _property(schema, "elastic")["description"] == "elastic distortion strength"
    assert _property(schema, "style")["enum"] == ["a", "b", None]
    model = run_create_model(_Extended)
    assert model.model_validate({"elastic": 2}).model_dump(exclude_unset=True) == {"elastic": 2}
    with pytest.raises(ValueError, match="elastic"):
        model.model_validate({"elastic": 3.5})
    with pytest.raises(ValueError, match="elastic"):
        model.model_validate({"elastic": "2"})  # strict: no coercion

    parser = argparse.ArgumentParser()
    _add_config_options(parser, _Extended)
    args = parser.parse_args(["--elastic", "1.5", "--style", "b"])
    assert (args.elastic, args.style, args.epochs) == (1.5, "b", None)
    with pytest.raises(SystemExit):
        parser.parse_args(["--style", "c"])

    assert validate_config(_Extended(elastic=3)).elastic == 3.0
    with pytest.raises(ConfigError) as caught:
        validate_config(_Extended(elastic=3.5))
    assert caught.value.field == "elastic"
    assert str(caught.value) == "elastic: must be between 0 and 3, got 3.5"
    with pytest.raises(ConfigError, match="style: unknown value 'c'"):
        validate_config(_Extended(style="c"))


def test_run_create_keeps_its_name_and_strictness() -> None:
    assert RunCreate.__name__ == "RunCreate"
    with pytest.raises(ValueError, match="extra"):
        RunCreate.model_validate({"dropout": 0.5})

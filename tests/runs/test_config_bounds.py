"""Issue 18, item 5: every config the API accepts trains. A property-based test over each
TrainConfig field's declared bounds (app/nn/config.py): a config is either refused by the
validation every entry point shares (a 422 at the API) or a real Trainer on real MNIST takes
its first steps and evaluates without an exception. `validation_size: 0` was accepted, then
crashed the run with "cannot reshape array of size 0"."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.data.drawing_mix import DrawingSplit, split_drawings
from app.data.mnist import MNIST, load_mnist
from app.nn.config import ConfigField, TrainConfig, config_fields
from app.nn.network import set_blas_threads
from app.nn.trainer import Trainer
from app.presets import ConfigError, parameter_count, validate_config

# The test set is cut to a few images: its size is not a config field, and a 2.5M-parameter
# network evaluating 10,000 images per example would take the test minutes.
TEST_IMAGES = 64
# Evaluating the validation split too when it costs at most this many multiply-adds.
EVALUATION_BUDGET = 2e8


@pytest.fixture(scope="module")
def data(mnist_dir: Path) -> MNIST:
    full = load_mnist(mnist_dir, download=False)
    return MNIST(
        full.train_images,
        full.train_labels,
        full.test_images[:TEST_IMAGES],
        full.test_labels[:TEST_IMAGES],
    )


def _number(spec: ConfigField, kind: type) -> st.SearchStrategy[Any]:
    """The field's edges (inclusive bounds, and just inside exclusive ones), its default and
    values in between."""
    bounds = spec.option.bounds()
    low = bounds.get("ge", bounds.get("gt"))
    high = bounds.get("le", bounds.get("lt"))
    if kind is int:
        lo = int(low if "ge" in bounds else (low or 0) + 1) if low is not None else 0
        hi = int(high if "le" in bounds else high - 1) if high is not None else lo + 1000
        edges = [lo, hi, min(lo + 1, hi), max(hi - 1, lo)]
        return st.sampled_from(edges) | st.integers(lo, min(hi, lo + 10_000))
    lo_f = float(low) if low is not None else 0.0
    hi_f = float(high) if high is not None else lo_f + 10.0
    inside_lo = math.nextafter(lo_f, math.inf) if "gt" in bounds else lo_f
    inside_hi = math.nextafter(hi_f, -math.inf) if "lt" in bounds else hi_f
    return st.sampled_from([inside_lo, inside_hi]) | st.floats(
        inside_lo, min(inside_hi, lo_f + 10.0), allow_nan=False
    )


def field_values(spec: ConfigField) -> st.SearchStrategy[Any]:
    option = spec.option
    if spec.kind is bool:
        values: st.SearchStrategy[Any] = st.booleans()
    elif spec.kind is str:
        values = st.sampled_from(option.choices or (spec.default,))
    elif spec.kind is list:
        sizes = _number(spec, int)
        lo, hi = option.min_items or 0, option.max_items or 8
        values = st.lists(sizes, min_size=lo, max_size=hi) | st.sampled_from(
            [[int(option.ge or 1)] * hi, [int(option.le or 1)] * lo, [int(option.le or 1)] * 2]
        )
    else:
        values = _number(spec, spec.kind)
    if spec.optional:
        values = values | st.none()
    return values | st.just(spec.default)


CONFIGS = st.fixed_dictionaries({spec.name: field_values(spec) for spec in config_fields()})


def some_drawings(config: TrainConfig) -> DrawingSplit | None:
    """Five labelled drawings for a config that trains on drawings (issue 17 §2: the API
    refuses such a run when there are none)."""
    if config.data == "mnist":
        return None
    rng = np.random.default_rng(0)
    images = rng.random((5, 784), dtype=np.float32)
    return split_drawings(images, np.arange(5) % 10, tuple(f"d{i}" for i in range(5)))


def first_steps(config: TrainConfig, data: MNIST, steps: int = 2) -> Trainer:
    """A real Trainer of `config`, paused before it starts: `steps` mini-batches, then stop."""
    trainer = Trainer(config, data, drawings=some_drawings(config))
    trainer.pause()
    outcome: list[BaseException | str] = []
    thread = threading.Thread(target=lambda: _run(trainer, outcome), daemon=True)
    thread.start()
    for _ in range(steps):
        trainer.step()
    trainer.stop()
    thread.join(120)
    assert not thread.is_alive(), "the trainer did not stop"
    (result,) = outcome
    if isinstance(result, BaseException):
        raise result
    assert result in ("stopped", "diverged", "finished"), (result, trainer.reason)
    return trainer


def _run(trainer: Trainer, outcome: list[BaseException | str]) -> None:
    try:
        outcome.append(trainer.run())
    except BaseException as exc:  # handed to the test thread
        outcome.append(exc)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(values=CONFIGS)
def test_every_config_within_the_declared_bounds_is_refused_or_trains(
    data: MNIST, values: dict[str, Any]
) -> None:
    set_blas_threads(1)
    try:
        config = validate_config(TrainConfig.from_dict(values))
    except ConfigError:
        return  # refused as a whole (e.g. too many parameters): a 422 at the API
    trainer = first_steps(config, data)
    evaluate_cost = parameter_count(config.sizes()) * (config.validation_size + TEST_IMAGES)
    if evaluate_cost <= EVALUATION_BUDGET:
        evaluation = trainer._evaluate(1)
        if config.validation_size == 0:
            assert evaluation.validation_accuracy is None
        else:
            assert 0.0 <= evaluation.validation_accuracy <= 1.0
        assert 0.0 <= evaluation.test_accuracy <= 1.0


@pytest.mark.parametrize("validation_size", [0, 1, 30_000])
def test_the_validation_split_edges_train_a_whole_run(data: MNIST, validation_size: int) -> None:
    """The issue's config: a whole epoch, with its evaluation, ends `finished`."""
    config = validate_config(
        TrainConfig(layers=[16, 16], epochs=1, train_subset=2000, validation_size=validation_size)
    )
    trainer = Trainer(config, data)
    assert trainer.run() == "finished", trainer.reason
    (evaluation,) = trainer.evaluations
    assert (evaluation.validation_accuracy is None) == (validation_size == 0)
    assert np.isfinite(evaluation.test_accuracy)

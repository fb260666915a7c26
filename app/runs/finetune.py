"""What a new run takes from outside its config (issue 17 §2): the model it starts from
(`from_model`: its weights and its architecture) and the snapshot of labelled drawings it
trains on (`data`: "drawings" or "mix"), each checked with a `ConfigError` that says what is
wrong (the API answers 422; an unknown model is the registry's ModelNotFound: 404).

Access (someone else's unshared model in class mode: 403) is the web layer's to check before
it asks the manager (app/api/access.py), which knows no principals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Protocol

import numpy as np

from app.data.drawing_mix import DrawingSplit, split_drawings
from app.nn.config import TrainConfig
from app.nn.protocol import Weights
from app.nn.vocab import DrawingsPool
from app.presets import ConfigError, validate_config
from app.store.models import ModelRegistry

ARCHITECTURE = ("layers", "activation", "cost")  # what a fine-tune takes from its model


class LabelledDrawings(Protocol):
    """app/store/drawings.py's LabelledSet: inputs (n, 784) float32 in 0..1, labels (n,),
    ids in creation order."""

    @property
    def images(self) -> np.ndarray: ...
    @property
    def labels(self) -> np.ndarray: ...
    @property
    def ids(self) -> tuple[str, ...]: ...


class LabelledSource(Protocol):
    """Where the manager gets a pool's labelled drawings (app/store/drawings.py's store)."""

    def labelled_set(self, pool: DrawingsPool, owner: str) -> LabelledDrawings: ...


def _describe(config: TrainConfig) -> str:
    sizes = "-".join(str(n) for n in config.sizes())
    return f"{sizes}, {config.activation}, {config.cost}"


def start_model(
    config: TrainConfig, given: Mapping[str, object], models: ModelRegistry | None
) -> tuple[TrainConfig, Weights | None]:
    """`config` with the architecture of its `from_model` and that model's weights (step 0);
    unchanged and None without one. `given`: the fields the caller set explicitly (a layer
    list, activation or cost other than the model's is a ConfigError)."""
    if config.from_model is None:
        return config, None
    if models is None:
        raise ConfigError("from_model", "this server has no models to start from")
    entry = models.get(config.from_model)  # ModelNotFound (404) for an unknown or broken id
    if entry.dataset != config.dataset:
        raise ConfigError(
            "from_model",
            f"model {entry.id} was trained on {entry.dataset} and this run trains on "
            f"{config.dataset}: start from a model of the same dataset",
        )
    net = entry.net
    model_config = dataclasses.replace(
        config,
        layers=list(net.sizes[1:-1]),
        activation=net.activation,
        cost=net.cost,
        # issue 17 §5: the model's input transform too (a model trained on deslanted digits
        # keeps reading deslanted ones; a form's default `deslant: false` must not undo it).
        deslant=entry.deslant,
        strokes=entry.strokes,
    )
    for name in ARCHITECTURE:
        if given.get(name) is not None and given[name] != getattr(model_config, name):
            raise ConfigError(
                "from_model",
                f"the architecture comes from model {entry.id} ({_describe(model_config)}); "
                f"leave out {name} (you gave {given[name]!r}) or give the model's",
            )
    return validate_config(model_config), Weights.of(net, 0)


def _no_drawings(pool: DrawingsPool) -> str:
    if pool == "class":
        return "the class dataset has no drawings yet: the teacher pools the class's drawings"
    return (
        "you have no labelled drawings yet: correct a prediction or keep a drawing as a "
        "labelled example first"
    )


# The most drawings one run takes (the newest): each run keeps its own copy of them (784
# float32 each, ~3 kB: 20,000 are ~63 MB in memory, in the job and on disk), and a class pool
# may hold every learner's drawings. RunInfo.drawings says how many it took.
MAX_RUN_DRAWINGS = 20_000


def snapshot_drawings(
    config: TrainConfig, owner: str, source: LabelledSource | None
) -> DrawingSplit | None:
    """The run's labelled drawings, split once (app/data/drawing_mix.py); None for an MNIST
    run. ConfigError when the run needs drawings and there are none to use."""
    if config.data == "mnist":
        return None
    if config.dataset != "mnist":
        raise ConfigError(
            "data", f"labelled drawings are digits: train on them with dataset mnist, not "
            f"{config.dataset}",
        )  # fmt: skip
    if source is None:
        raise ConfigError("data", "this server keeps no labelled drawings")
    labelled = source.labelled_set(config.drawings_pool, owner)
    if not len(labelled.ids):
        raise ConfigError("data", _no_drawings(config.drawings_pool))
    newest = slice(-MAX_RUN_DRAWINGS, None)  # ids are ordered by creation: keep the newest
    ids = tuple(labelled.ids)[newest]
    return split_drawings(labelled.images[newest], labelled.labels[newest], ids)

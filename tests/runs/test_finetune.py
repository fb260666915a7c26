"""Issue 17 §2 in the run layer: runs on labelled drawings (alone or mixed with MNIST) that
start from a model. Real worker processes, real SQLite, real MNIST, the real shipped `accurate`
model; the drawings come from a stand-in of app/store/drawings.py's `labelled_set` (the
contract's LabelledSet shape), made of one synthetic style (bench/finetune_style.py)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from app.nn.serialize import load_model
from app.nn.trainer import evaluate
from app.paths import SHIPPED_MODELS_DIR
from app.presets import ConfigError
from app.runs.drawing_files import DrawingSnapshots
from app.runs.manager import RunManager
from app.store.db import Store
from app.store.models import ModelNotFound, ModelRegistry

from .support import wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from finetune_style import style_inputs

# A short fine-tune of `accurate`: a quarter of each batch from the drawings.
FINE_TUNE = {
    "data": "mix",
    "from_model": "accurate",
    "drawings_fraction": 0.25,
    "epochs": 2,
    "train_subset": 5000,
    "learning_rate": 0.0003,
    "lr_schedule": "constant",
}
SMALL = {"layers": [16], "validation_size": 500, "train_subset": 1000}


@dataclass(frozen=True)
class LabelledSet:
    """The contract's shape (COMMON.md): what DrawingStore.labelled_set answers."""

    images: np.ndarray
    labels: np.ndarray
    ids: tuple[str, ...]


class StandInDrawings:
    """`labelled_set(pool, owner)` over sets the test sets per (pool, owner)."""

    def __init__(self) -> None:
        self.sets: dict[tuple[str, str], LabelledSet] = {}
        self.asked: list[tuple[str, str]] = []

    def put(self, pool: str, owner: str, n: int, seed: int = 0) -> LabelledSet:
        images, labels = style_inputs(n, seed)
        ids = tuple(f"d_{seed}_{i:04d}" for i in range(n))
        self.sets[pool, owner] = LabelledSet(images, labels, ids)
        return self.sets[pool, owner]

    def labelled_set(self, pool: str, owner: str) -> LabelledSet:
        self.asked.append((pool, owner))
        empty = LabelledSet(np.zeros((0, 784), np.float32), np.zeros(0, np.uint8), ())
        return self.sets.get((pool, owner), empty)


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    """The model registry with the real shipped models (`accurate` reads 99.3% of MNIST)."""
    models = ModelRegistry(
        Store(tmp_path / "models.sqlite3"), tmp_path / "models", SHIPPED_MODELS_DIR
    )
    models.load()
    return models


@pytest.fixture
def drawings() -> StandInDrawings:
    return StandInDrawings()


def accuracy_of(network_path: Path, x: np.ndarray, y: np.ndarray) -> float:
    network, _ = load_model(network_path)
    predictions, _ = evaluate(network, x, y)
    return float(np.mean(predictions == y))


def test_fine_tuning_accurate_raises_the_accuracy_on_the_held_out_drawings(
    make_manager, registry: ModelRegistry, drawings: StandInDrawings, tmp_path: Path
) -> None:
    drawings.put("mine", "local", 60)
    manager: RunManager = make_manager(drawings=drawings)
    run = manager.create("3b1b", FINE_TUNE, models=registry)
    info = run.info(history=False)
    # The architecture comes from the model (the 3b1b preset's 16-16 sigmoid is replaced).
    assert info["config"]["layers"] == [256, 128] and info["config"]["activation"] == "relu"
    assert info["drawings"] is not None and info["drawings"]["held_out"] >= 1
    assert sum(info["drawings"].values()) == 60
    wait_for(lambda: run.status not in ("queued", "downloading", "running"), 240)
    assert run.status == "finished", run.reason
    # What the base model read of the held-out drawings, from the run's snapshot file.
    split = DrawingSnapshots(tmp_path / "runs").load(run.id)
    assert split is not None and len(split.held_ids) == info["drawings"]["held_out"]
    before = accuracy_of(SHIPPED_MODELS_DIR / "accurate.npz", split.held_x, split.held_y)
    assert before < 0.9, "the style must be one the base model reads worse"
    evaluations = run.info(history=True)["history"]["evaluations"]
    assert len(evaluations) == 2
    after = evaluations[-1]["drawings_accuracy"]
    assert after is not None and after >= before + 0.1, (before, after)
    assert evaluations[-1]["test_accuracy"] >= 0.985  # MNIST is not forgotten
    # The saved model says where it came from.
    entry = manager.save(run.id, registry)
    _, metadata = load_model(entry.path)
    assert metadata["config"]["from_model"] == "accurate"
    assert metadata["config"]["data"] == "mix" and metadata["config"]["drawings_fraction"] == 0.25
    assert metadata["drawings_accuracy"] == after
    # It is persisted: a restarted manager shows the same evaluations and counts.
    manager.shutdown()
    again = make_manager(drawings=drawings).get(run.id)
    assert again.info(history=True)["history"]["evaluations"] == evaluations
    assert again.info(history=False)["drawings"] == info["drawings"]


def test_an_mnist_run_has_null_drawings_accuracy(make_manager, drawings: StandInDrawings) -> None:
    drawings.put("mine", "local", 10)  # there are drawings, but the run trains on MNIST alone
    manager = make_manager(drawings=drawings)
    run = manager.create(None, {**SMALL, "epochs": 1})
    wait_for(lambda: run.status == "finished", 120)
    info = run.info(history=True)
    assert info["drawings"] is None
    (evaluation,) = info["history"]["evaluations"]
    assert "drawings_accuracy" in evaluation and evaluation["drawings_accuracy"] is None
    assert drawings.asked == []  # no snapshot taken


def test_the_split_stays_fixed_across_epochs_and_a_resume_after_a_restart(
    make_manager, drawings: StandInDrawings, tmp_path: Path
) -> None:
    drawings.put("mine", "local", 30)
    first = make_manager(drawings=drawings)
    run = first.create(None, {**SMALL, "data": "drawings", "epochs": 100})
    held = run.drawing_split.held_ids
    assert held and not set(held) & set(run.drawing_split.train_ids)
    wait_for(lambda: len(run.evaluations) >= 2, 120, "two epochs")
    wait_for(lambda: (tmp_path / "runs" / f"{run.id}.npz").exists(), 30, "a checkpoint")
    # The store's drawings change meanwhile: the run keeps its snapshot.
    drawings.put("mine", "local", 40, seed=7)
    first.store.update_run(run.id, status="running")
    first.shutdown()
    first.store.update_run(run.id, status="running")  # as if the server had been killed
    second = make_manager(drawings=drawings)
    again = second.get(run.id)
    assert again.status == "interrupted"
    assert again.info(history=False)["drawings"] == {"train": 30 - len(held), "held_out": len(held)}
    second.resume(run.id)
    wait_for(lambda: again.status == "running", 60)
    assert again.drawing_split is not None and again.drawing_split.held_ids == held
    n = len(again.evaluations)
    wait_for(lambda: len(again.evaluations) > n, 60, "an epoch after the resume")
    assert all(e["drawings_accuracy"] is not None for e in again.evaluations)
    second.stop(run.id)


def test_drawings_alone_have_epochs_of_at_least_ten_steps(
    make_manager, drawings: StandInDrawings
) -> None:
    drawings.put("mine", "local", 12)
    manager = make_manager(drawings=drawings)
    run = manager.create(None, {**SMALL, "data": "drawings", "epochs": 2, "batch_size": 32})
    wait_for(lambda: run.status == "finished", 120)
    assert [e["step"] for e in run.evaluations] == [10, 20]


def _refused(
    manager: RunManager,
    field: str,
    words: str,
    models: ModelRegistry | None = None,
    **options: object,
) -> None:
    """`options` are refused with a ConfigError on `field` that says `words`; nothing is made."""
    before = len(manager.list())
    with pytest.raises(ConfigError) as caught:
        manager.create(None, options, models=models)
    assert caught.value.field == field and words in str(caught.value), str(caught.value)
    assert len(manager.list()) == before


def test_what_cannot_be_fine_tuned_is_refused_with_the_reason(
    make_manager, registry: ModelRegistry, drawings: StandInDrawings, tmp_path: Path
) -> None:
    manager = make_manager(drawings=drawings)
    _refused(manager, "data", "you have no labelled drawings yet", data="drawings")
    _refused(manager, "data", "class dataset has no drawings", data="mix", drawings_pool="class")
    drawings.put("mine", "local", 5)
    _refused(manager, "data", "digits", data="mix", dataset="fashion_mnist")
    _refused(manager, "batch_size", "at least 2", data="mix", batch_size=1)
    _refused(
        manager, "from_model", "architecture comes from model accurate", registry,
        from_model="accurate", layers=[16],
    )  # fmt: skip
    _refused(
        manager, "from_model", "leave out activation", registry,
        from_model="accurate", activation="sigmoid",
    )  # fmt: skip
    with pytest.raises(ModelNotFound):
        manager.create(None, {"from_model": "m_nothere"}, models=registry)
    # A Fashion-MNIST model can't start an MNIST run.
    fashion_net, _ = load_model(SHIPPED_MODELS_DIR / "3b1b.npz")
    entry = registry.add(fashion_net, {"dataset": "fashion_mnist"}, name="fashion", owner="local")
    _refused(manager, "from_model", "trained on fashion_mnist", registry, from_model=entry.id)
    # Without a drawings store, a run on drawings is refused too.
    bare = make_manager()
    _refused(bare, "data", "keeps no labelled drawings", data="drawings")
    # The model's own architecture, given explicitly, is accepted.
    run = manager.create(
        None, {**SMALL, "from_model": "accurate", "layers": [256, 128], "cost": "cross_entropy",
               "epochs": 1}, models=registry,
    )  # fmt: skip
    assert run.config.layers == [256, 128]
    manager.stop(run.id)


def test_a_fine_tune_keeps_its_models_input_transform(
    make_manager, registry: ModelRegistry, drawings: StandInDrawings
) -> None:
    """issue 17 §5: `accurate` reads deslanted digits; a fine-tune of it must too (even when
    the form sends the default `deslant: false`), and one of 3b1b must not."""
    drawings.put("mine", "local", 10)
    manager = make_manager(drawings=drawings)
    for model, expected in (("accurate", True), ("3b1b", False)):
        options = {"from_model": model, "epochs": 1, "deslant": not expected, "data": "mix",
                   "validation_size": 500, "train_subset": 1000}  # fmt: skip
        run = manager.create(None, options, models=registry)
        assert run.config.deslant is expected
        manager.stop(run.id)


def test_a_fine_tune_keeps_its_models_strokes_transform(
    make_manager, registry: ModelRegistry, drawings: StandInDrawings
) -> None:
    """issue 17 §5: `accurate` also reads stroke-normalised digits; a fine-tune of it keeps
    that even when the form says `strokes: false`, and one of 3b1b does not take it up."""
    drawings.put("mine", "local", 10)
    manager = make_manager(drawings=drawings)
    for model, expected in (("accurate", True), ("3b1b", False)):
        options = {"from_model": model, "epochs": 1, "strokes": not expected, "data": "mix",
                   "validation_size": 500, "train_subset": 1000}  # fmt: skip
        run = manager.create(None, options, models=registry)
        assert run.config.strokes is expected
        manager.stop(run.id)


def test_a_strokes_trainer_normalises_the_drawings_too() -> None:
    from app.data.deslant import transform_batch
    from app.data.drawing_mix import DrawingSplit
    from app.data.mnist import MNIST
    from app.nn.config import TrainConfig
    from app.nn.trainer import Trainer

    rng = np.random.default_rng(0)
    images = (rng.random((20, 28, 28)) > 0.8).astype(np.uint8) * 255
    labels = np.arange(20, dtype=np.uint8) % 10
    data = MNIST(images, labels, images[:5], labels[:5])
    x = np.zeros((6, 28, 28), np.float32)
    for i, width in enumerate((1, 2, 3, 6, 7, 1)):  # vertical bars, hairline to blob
        x[i, 4:24, 14 - width // 2 : 14 - width // 2 + width] = 1.0
    x = x.reshape(6, 784)
    y = labels.astype(np.int64)
    split = DrawingSplit(x[:4], y[:4], ("a", "b", "c", "d"), x[4:], y[4:6], ("e", "f"))
    config = TrainConfig(
        layers=[8], epochs=1, validation_size=5, data="mix", deslant=True, strokes=True
    )
    trainer = Trainer(config, data, drawings=split)
    assert trainer.drawings is not None
    assert np.array_equal(trainer.drawings.train_x, transform_batch(x[:4], True, True))
    assert np.array_equal(trainer.drawings.held_x, transform_batch(x[4:], True, True))
    assert not np.array_equal(trainer.drawings.held_x, transform_batch(x[4:], True, False))


def test_a_deslant_trainer_deslants_the_drawings_too() -> None:
    from app.data.deslant import transform_batch
    from app.data.drawing_mix import DrawingSplit
    from app.data.mnist import MNIST
    from app.nn.config import TrainConfig
    from app.nn.trainer import Trainer

    rng = np.random.default_rng(0)
    images = (rng.random((20, 28, 28)) > 0.8).astype(np.uint8) * 255
    labels = np.arange(20, dtype=np.uint8) % 10
    data = MNIST(images, labels, images[:5], labels[:5])
    x = (rng.random((6, 784)) > 0.8).astype(np.float32)
    y = labels.astype(np.int64)
    split = DrawingSplit(x[:4], y[:4], ("a", "b", "c", "d"), x[4:], y[4:6], ("e", "f"))
    config = TrainConfig(layers=[8], epochs=1, validation_size=5, data="mix", deslant=True)
    trainer = Trainer(config, data, drawings=split)
    assert trainer.drawings is not None
    assert np.array_equal(trainer.drawings.train_x, transform_batch(x[:4], True))
    assert np.array_equal(trainer.drawings.held_x, transform_batch(x[4:], True))


def test_a_run_takes_at_most_the_newest_max_run_drawings(
    drawings: StandInDrawings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review F2: each run keeps its own copy of its drawings; a class pool can be huge."""
    from app.nn.config import TrainConfig
    from app.runs import finetune

    monkeypatch.setattr(finetune, "MAX_RUN_DRAWINGS", 12)
    put = drawings.put("class", "learner", 30)
    split = finetune.snapshot_drawings(
        TrainConfig(data="mix", drawings_pool="class"), "learner", drawings
    )
    assert split is not None
    taken = set(split.train_ids) | set(split.held_ids)
    assert taken == set(put.ids[-12:])  # the newest twelve


def test_a_snapshot_of_no_stored_run_is_removed_at_start_up(
    make_manager, drawings: StandInDrawings, tmp_path: Path
) -> None:
    """Review F5: a kill -9 between writing a run's snapshot and storing its row."""
    drawings.put("mine", "local", 10)
    manager = make_manager(drawings=drawings)
    run = manager.create(None, {**SMALL, "data": "drawings", "epochs": 1})
    wait_for(lambda: run.status == "finished", 120)
    manager.shutdown()
    runs = tmp_path / "runs"
    kept = runs / f"{run.id}.drawings.npz"
    stray = runs / "r_0badcafe.drawings.npz"
    stray.write_bytes(kept.read_bytes())
    make_manager(drawings=drawings)
    assert kept.exists() and not stray.exists()

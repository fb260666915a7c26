"""A run's weights on disk and as a model: its weight file (the latest checkpoint, then the
final weights) in the runs folder, and the model saved from it into the registry."""

from __future__ import annotations

import logging
from pathlib import Path

from app.jsontypes import JSONObject
from app.nn.network import Network
from app.nn.protocol import Weights
from app.nn.serialize import ModelFileError, load_model, model_to_bytes, trained_metadata
from app.runs.run import Run
from app.store.files import path_for, write_atomic
from app.store.models import ModelEntry, ModelRegistry

log = logging.getLogger(__name__)


def model_metadata(run: Run) -> JSONObject:
    """What a model saved from `run` records about where it came from."""
    last = run.evaluations[-1] if run.evaluations else None
    test_accuracy = last["test_accuracy"] if last else None
    epochs = run.progress()["epoch"]
    # finetune (issue 17 §2): the config records from_model, data and drawings_fraction; the
    # accuracy on the held-out drawings is the run's last.
    drawings_accuracy = last.get("drawings_accuracy") if last else None
    return trained_metadata(
        run.config_json(), run.preset, epochs, test_accuracy, source_run=run.id,
        drawings_accuracy=drawings_accuracy, drawings=run.drawings,
    )  # fmt: skip


class WeightFiles:
    """`<runs_dir>/<run id>.npz`: a run's latest checkpoint, replaced by its final weights."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir

    def path(self, run_id: str) -> Path:
        return path_for(self.runs_dir, run_id)

    def write(self, run: Run, weights: Weights, *, checkpoint: bool = False) -> None:
        metadata = {
            "source_run": run.id,
            "config": run.config_json(),
            "step": weights.step,
            "checkpoint": checkpoint,
        }
        write_atomic(self.path(run.id), model_to_bytes(weights.network(), metadata))

    def load(self, run: Run) -> Weights | None:
        """The run's weights from its file (remembered as its final weights); None when it
        has none or it is unreadable."""
        path = self.path(run.id)
        if not path.exists():
            return None
        try:
            network, metadata = load_model(path)
        except (ModelFileError, OSError) as exc:
            log.warning("run %s: unreadable weights: %s", run.id, exc)
            return None
        run.final_weights = Weights.of(network, int(metadata.get("step", run.current_step())))
        return run.final_weights

    def delete(self, run_id: str) -> None:
        self.path(run_id).unlink(missing_ok=True)


def save_model(
    run: Run, network: Network, models: ModelRegistry, name: str | None, max_owned: int | None
) -> ModelEntry:
    """Store `network` (the run's current, final or checkpointed) as a model named `name`
    (default "run <id>") owned by the run's owner, who may keep at most `max_owned` models
    (None: no limit); the registry's errors (e.g. NonFiniteModel, OverQuota) pass through."""
    name = (name or "").strip() or f"run {run.id}"
    return models.add(network, model_metadata(run), name=name, owner=run.owner, max_owned=max_owned)

"""Exporting a model of the registry (app/nn/export.py builds the formats)."""

from __future__ import annotations

from app.jsontypes import JSONObject
from app.nn.export import Exported, ExportFormat, Labels, export_network
from app.nn.serialize import ModelFileError, load_model
from app.store.models import ModelEntry, ModelNotFound, ModelRegistry


def file_metadata(entry: ModelEntry) -> JSONObject:
    """The metadata in the model's file (training config, accuracies, ...), with the registry's
    name and date, which are the ones the API shows."""
    try:
        _, metadata = load_model(entry.path)
    except ModelFileError as exc:  # deleted or replaced under us since the registry loaded it
        raise ModelNotFound(f"model {entry.id!r} is no longer readable: {exc}") from None
    return {**metadata, "name": entry.name, "created": entry.created or metadata.get("created")}


def export_model(models: ModelRegistry, model_id: str, fmt: ExportFormat) -> Exported:
    """Model `model_id` as `fmt`. ModelNotFound for an unknown id; OnnxUnavailable for onnx
    without the onnx package. Every model may be exported by anyone (there are no owners yet;
    when there are, the models a caller may use are the ones it may export)."""
    entry = models.get(model_id)
    metadata = file_metadata(entry) if fmt == "card" else {}
    labels = Labels(entry.dataset, entry.class_names, entry.deslant, entry.strokes)
    return export_network(entry.net, metadata, fmt, stem=entry.id, name=entry.name, labels=labels)

"""/api/models: the shipped, saved and uploaded networks."""

from __future__ import annotations

import asyncio
from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile, status
from fastapi.responses import FileResponse

from app.api.access import class_responses as responses
from app.api.access import quotas_for, require_owner, require_use
from app.api.deps import ModelsDep, ServicesDep
from app.api.errors import error
from app.api.export_schemas import ExportedNetwork
from app.api.heavy import GateDep, Shared, WorkGate
from app.api.identity import CurrentPrincipal, LearnerPrincipal, Principal, TeacherPrincipal
from app.api.me_schemas import ModelPatch
from app.api.schemas import (
    DefaultModel,
    DefaultModelResponse,
    DreamsResponse,
    ErrorResponse,
    ModelInfo,
    ModelList,
    NetworkJSON,
)
from app.nn.export import EXPORT_FORMATS, INSTALL_EXPORT, ExportFormat, OnnxUnavailable
from app.nn.serialize import ModelFileError
from app.store.export import export_model
from app.store.files import ID_PATTERN
from app.store.models import CachedDreams, ModelEntry, ModelRegistry, UploadLimits

router = APIRouter(prefix="/api/models", tags=["models"])

ModelId = Annotated[str, Path(pattern=ID_PATTERN, description="a model id")]


def owned(models: ModelRegistry, model_id: str, principal: Principal, what: str) -> ModelEntry:
    """The model, when `principal` may change it (its owner, or the teacher); else 403."""
    entry = models.lookup(model_id)
    owner_name = models.names(entry.owner) if entry.owner else "the package (shipped)"
    require_owner(principal, entry.owner, owner_name, f"{what} model {model_id}")
    return entry


def usable(models: ModelRegistry, model_id: str, principal: Principal) -> str:
    """`model_id`, when `principal` may use the model (shared, shipped or theirs); else 403."""
    require_use(models, principal, model_id)
    return model_id


@router.get("", response_model=ModelList)
def list_models(models: ModelsDep) -> ModelList:
    infos = [ModelInfo.model_validate(models.info(e)) for e in models.list()]
    return ModelList(default=models.default_id, models=infos)


@router.put(
    "/default", response_model=DefaultModelResponse, responses=responses(401, 403, 404, 422)
)
def set_default(
    body: DefaultModel, models: ModelsDep, teacher: TeacherPrincipal
) -> DefaultModelResponse:
    """The teacher's: the model everyone uses when they name none."""
    models.set_default(body.id)
    return DefaultModelResponse(default=body.id)


@router.post(
    "",
    response_model=ModelInfo,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 409, 413, 422),
)
async def upload_model(
    models: ModelsDep,
    services: ServicesDep,
    principal: LearnerPrincipal,
    file: Annotated[UploadFile, File(description="a model .npz (never unpickled)")],
    name: Annotated[str | None, Form(max_length=80)] = None,
) -> Response | ModelInfo:
    """409 when the uploaded models already fill NNP_MAX_UPLOADED_MODELS or _BYTES, or the
    learner's own limit of models; 403 for a network above the learners' size limit. The
    model is the caller's, not shared until they share it."""
    data = await file.read()
    settings = services.settings
    limits = UploadLimits(settings.max_uploaded_models, settings.max_uploaded_bytes)
    quotas = quotas_for(services, principal)
    try:
        # Parsing and writing the file is blocking work: keep it off the event loop.
        entry = await asyncio.to_thread(
            lambda: models.add_upload(
                data, name, file.filename, limits, owner=principal.id, quotas=quotas
            )
        )
    except ModelFileError as exc:
        return error(422, f"file: {exc}")
    return ModelInfo.model_validate(models.info(entry))


@router.get("/{model_id}", response_model=ModelInfo, responses=responses(404, 422))
def get_model(model_id: ModelId, models: ModelsDep) -> ModelInfo:
    return ModelInfo.model_validate(models.info(models.lookup(model_id)))


@router.get(
    "/{model_id}/weights",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "the .npz file"},
        **responses(403, 404, 422),
    },
)
def get_weights(model_id: ModelId, models: ModelsDep, principal: CurrentPrincipal) -> FileResponse:
    entry = models.get(usable(models, model_id, principal))
    return FileResponse(
        entry.path, media_type="application/octet-stream", filename=f"{entry.id}.npz"
    )


_USE = responses(403, 404, 409, 422)


@router.get("/{model_id}/network", response_model=NetworkJSON, responses=_USE)
def get_network(model_id: ModelId, models: ModelsDep, principal: CurrentPrincipal) -> Response:
    # Serialised once per model and cached: these are big and never change.
    usable(models, model_id, principal)
    return Response(models.network_json_bytes(model_id), media_type="application/json")


# The askers of one model's dreams at the same moment share one computation (keyed by model
# id; the registry keeps the result): they wait for it holding no thread and no slot.
_DREAMING: Shared[tuple[CachedDreams, bool]] = Shared(weak=False, size=0)
# A heavy route's 503: the bounded pool is busy (app/api/heavy.py).
_BUSY: dict[int | str, dict[str, object]] = {
    503: {"model": ErrorResponse, "description": "busy: too many heavy requests (Retry-After)"}
}


async def _dreams(
    models: ModelRegistry, model_id: str, gate: WorkGate
) -> tuple[CachedDreams, bool]:
    """The cached dreams at once; else computed in the bounded pool, once for all askers."""
    cached = models.cached_dreams(model_id)  # unknown id → 404
    if cached is not None:
        return cached, True
    return await _DREAMING.get(model_id, gate, lambda: models.dreams(model_id))


@router.get(
    "/{model_id}/dreams",
    response_model=DreamsResponse,
    responses={**_USE, **_BUSY},
)
async def get_dreams(
    model_id: ModelId, models: ModelsDep, gate: GateDep, principal: CurrentPrincipal
) -> DreamsResponse:
    """For each digit, the input image the model rates highest (gradient ascent on the input;
    docs/api.md). Computed once per model, in the bounded heavy pool (503 when busy), then
    cached."""
    usable(models, model_id, principal)
    cached, hit = await _dreams(models, model_id, gate)  # unknown id → 404, NaN weights → 409
    result = cached.dreams
    return DreamsResponse(
        model=model_id,
        digits=result.digits.tolist(),
        images=result.images.astype(np.float64).round(4).tolist(),
        probabilities=result.probabilities.astype(np.float64).tolist(),
        steps=result.steps,
        seconds=round(cached.seconds, 4),
        cached=hit,
    )


_EXPORT_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "model": ExportedNetwork,
        "description": "format=onnx: an ONNX model (application/octet-stream); format=json: "
        "the weights and biases as JSON; format=card: a Markdown model card (text/markdown)",
        "content": {"application/octet-stream": {}, "text/markdown": {}},
    },
    **responses(403, 404, 422),
    501: {"model": ErrorResponse, "description": f"format=onnx needs onnx: {INSTALL_EXPORT}"},
    **_BUSY,
}


@router.get("/{model_id}/export", response_class=Response, responses=_EXPORT_RESPONSES)
async def export(
    model_id: ModelId,
    gate: GateDep,
    models: ModelsDep,
    principal: CurrentPrincipal,
    fmt: Annotated[
        ExportFormat, Query(alias="format", description=f"one of {', '.join(EXPORT_FORMATS)}")
    ] = "onnx",
) -> Response:
    """The model as a file for other programs (docs/api.md): ONNX, plain JSON, or a model
    card. Heavy pool, 503 when busy: under a second for the shipped models, seconds for the
    largest network training allows (its JSON is ~32 MB)."""
    usable(models, model_id, principal)
    try:
        exported = await gate.run(export_model, models, model_id, fmt)
    except OnnxUnavailable as exc:
        return error(501, str(exc))
    disposition = f'attachment; filename="{exported.filename}"'
    return Response(
        exported.data,
        media_type=exported.media_type,
        headers={"Content-Disposition": disposition},
    )


@router.delete(
    "/{model_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(403, 404, 409, 422),
)
def delete_model(model_id: ModelId, models: ModelsDep, principal: CurrentPrincipal) -> Response:
    owned(models, model_id, principal, "delete")
    models.delete(model_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch("/{model_id}", response_model=ModelInfo, responses=responses(403, 404, 409, 422))
def patch_model(
    model_id: ModelId, body: ModelPatch, models: ModelsDep, principal: CurrentPrincipal
) -> ModelInfo:
    """Rename the model and/or share it (others may then use it) or stop sharing it. Only its
    owner or the teacher; shipped models can't be changed (409)."""
    what = "share or unshare" if body.shared is not None else "rename"
    entry = owned(models, model_id, principal, what)
    models.update(entry.id, name=body.name, shared=body.shared)
    return ModelInfo.model_validate(models.info(models.lookup(model_id)))

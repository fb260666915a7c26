"""/api/runs: start, inspect, control and save training runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.api.deps import ModelsDep, RunsDep
from app.api.errors import error, responses
from app.api.schemas import (
    ModelInfo,
    NetworkJSON,
    RunCreate,
    RunDetail,
    RunDigits,
    RunInfo,
    RunList,
    RunPatch,
    SaveRequest,
    SpeedRequest,
)
from app.presets import ConfigError
from app.store.files import ID_PATTERN
from app.store.models import network_json_bytes

router = APIRouter(prefix="/api/runs", tags=["runs"])

RunId = Annotated[str, Path(pattern=ID_PATTERN, description="a run id")]


@router.post(
    "",
    response_model=RunInfo,
    status_code=status.HTTP_201_CREATED,
    responses=responses(422, 429, unavailable=["mnist", "executor"]),
)
def create_run(body: RunCreate, runs: RunsDep) -> Response | RunInfo:
    overrides = body.model_dump(exclude_unset=True, exclude={"preset"})
    try:
        run = runs.create(body.preset, overrides)
    except ConfigError as exc:
        return error(422, str(exc))
    return run.info(history=False)


@router.get("", response_model=RunList)
def list_runs(runs: RunsDep) -> RunList:
    return RunList(runs=[run.info(history=False) for run in runs.list()])


@router.get("/{run_id}", response_model=RunDetail, responses=responses(404, 422))
def get_run(run_id: RunId, runs: RunsDep) -> RunDetail:
    return runs.get(run_id).info(history=True)


@router.patch("/{run_id}", response_model=RunInfo, responses=responses(404, 409, 422))
def patch_run(run_id: RunId, body: RunPatch, runs: RunsDep) -> RunInfo:
    return runs.set_learning_rate(run_id, body.learning_rate).info(history=False)


@router.delete(
    "/{run_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(404, 422),
)
def delete_run(run_id: RunId, runs: RunsDep) -> Response:
    runs.delete(run_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


_CONTROL = responses(404, 409, 422)


@router.post("/{run_id}/pause", response_model=RunInfo, responses=_CONTROL)
def pause_run(run_id: RunId, runs: RunsDep) -> RunInfo:
    return runs.pause(run_id).info(history=False)


@router.post(
    "/{run_id}/resume",
    response_model=RunInfo,
    responses=responses(404, 409, 422, 429, unavailable=["mnist", "executor"]),
)
def resume_run(run_id: RunId, runs: RunsDep) -> RunInfo:
    """A paused run continues; a parked one, or an interrupted or failed one, is queued for a
    slot and continues from its checkpoint."""
    return runs.resume(run_id).info(history=False)


@router.post("/{run_id}/step", response_model=RunInfo, responses=_CONTROL)
def step_run(run_id: RunId, runs: RunsDep) -> RunInfo:
    return runs.step(run_id).info(history=False)


@router.post("/{run_id}/stop", response_model=RunInfo, responses=_CONTROL)
def stop_run(run_id: RunId, runs: RunsDep) -> RunInfo:
    return runs.stop(run_id).info(history=False)


@router.post("/{run_id}/speed", response_model=RunInfo, responses=_CONTROL)
def set_speed(run_id: RunId, body: SpeedRequest, runs: RunsDep) -> RunInfo:
    return runs.set_speed(run_id, body.batches_per_second).info(history=False)


@router.post(
    "/{run_id}/save",
    response_model=ModelInfo,
    status_code=status.HTTP_201_CREATED,
    responses=_CONTROL,
)
def save_run(
    run_id: RunId, runs: RunsDep, models: ModelsDep, body: SaveRequest | None = None
) -> ModelInfo:
    """Plain `def`: the thread pool runs it (loading final weights, serialising, fsyncing)."""
    entry = runs.save(run_id, models, body.name if body else None)
    return ModelInfo.model_validate(models.info(entry))


@router.get("/{run_id}/network", response_model=NetworkJSON, responses=_CONTROL)
def run_network(run_id: RunId, runs: RunsDep) -> Response:
    """Bounded in size like a model's (see network_json_bytes)."""
    return Response(network_json_bytes(runs.network(run_id)), media_type="application/json")


@router.get(
    "/{run_id}/digits",
    response_model=RunDigits,
    responses=responses(404, 422, unavailable=["mnist"]),
)
def run_digits(
    run_id: RunId,
    runs: RunsDep,
    label: Annotated[int | None, Query(ge=0, le=9)] = None,
    predicted: Annotated[int | None, Query(ge=0, le=9)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 24,
) -> RunDigits:
    """Test digits from the last evaluation, most confident first; without `label` and
    `predicted`, the most confident mistakes."""
    return RunDigits(digits=runs.digits(run_id, label=label, predicted=predicted, limit=limit))

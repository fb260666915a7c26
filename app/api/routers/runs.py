"""/api/runs: start, inspect, control and save training runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from app.api.access import class_responses as responses
from app.api.access import quotas_for, rate_check, require_owner, require_use
from app.api.deps import ModelsDep, RunsDep, ServicesDep
from app.api.errors import error
from app.api.identity import CurrentPrincipal, LearnerPrincipal, Principal
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
from app.runs.manager import RunManager
from app.runs.run import Run
from app.store.files import ID_PATTERN
from app.store.models import network_json_bytes

router = APIRouter(prefix="/api/runs", tags=["runs"])

RunId = Annotated[str, Path(pattern=ID_PATTERN, description="a run id")]


def owned(runs: RunManager, run_id: str, principal: Principal, what: str) -> Run:
    """The run, when `principal` may control it (its owner, or the teacher); else 403."""
    run = runs.get(run_id)
    require_owner(principal, run.owner, runs.names(run.owner), f"{what} run {run_id}")
    return run


@router.post(
    "",
    response_model=RunInfo,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 404, 409, 422, 429, unavailable=["mnist", "executor"]),
)
def create_run(
    body: RunCreate,
    runs: RunsDep,
    models: ModelsDep,
    principal: LearnerPrincipal,
    services: ServicesDep,
    request: Request,
) -> Response | RunInfo:
    """The run belongs to the caller. In class mode a learner is held to the limits (active
    runs, network size: 409/403) and a rate (429). `from_model` must be a model the caller
    may use (someone else's unshared model: 403; an unknown id: 404)."""
    rate_check(services, request, principal, "runs")
    overrides = body.model_dump(exclude_unset=True, exclude={"preset"})
    from_model = overrides.get("from_model")
    if isinstance(from_model, str) and from_model:  # "" is bad input: the config check's 422
        require_use(models, principal, from_model)
    try:
        run = runs.create(
            body.preset,
            overrides,
            owner=principal.id,
            quotas=quotas_for(services, principal),
            models=models,
        )
    except ConfigError as exc:
        return error(422, str(exc))
    return run.info(history=False)


@router.get("", response_model=RunList, responses=responses(422))
def list_runs(
    runs: RunsDep,
    principal: CurrentPrincipal,
    mine: Annotated[bool, Query(description="only the caller's own runs")] = False,
) -> RunList:
    listed = [run for run in runs.list() if not mine or run.owner == principal.id]
    return RunList(runs=[run.info(history=False) for run in listed])


@router.get("/{run_id}", response_model=RunDetail, responses=responses(404, 422))
def get_run(run_id: RunId, runs: RunsDep) -> RunDetail:
    return runs.get(run_id).info(history=True)


_CONTROL = responses(403, 404, 409, 422)


@router.patch("/{run_id}", response_model=RunInfo, responses=_CONTROL)
def patch_run(run_id: RunId, body: RunPatch, runs: RunsDep, principal: CurrentPrincipal) -> RunInfo:
    owned(runs, run_id, principal, "change")
    return runs.set_learning_rate(run_id, body.learning_rate).info(history=False)


@router.delete(
    "/{run_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(403, 404, 422),
)
def delete_run(run_id: RunId, runs: RunsDep, principal: CurrentPrincipal) -> Response:
    owned(runs, run_id, principal, "delete")
    runs.delete(run_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{run_id}/pause", response_model=RunInfo, responses=_CONTROL)
def pause_run(run_id: RunId, runs: RunsDep, principal: CurrentPrincipal) -> RunInfo:
    owned(runs, run_id, principal, "pause")
    return runs.pause(run_id).info(history=False)


@router.post(
    "/{run_id}/resume",
    response_model=RunInfo,
    responses=responses(403, 404, 409, 422, 429, unavailable=["mnist", "executor"]),
)
def resume_run(
    run_id: RunId, runs: RunsDep, principal: CurrentPrincipal, services: ServicesDep
) -> RunInfo:
    """A paused run continues; a parked one, or an interrupted or failed one, is queued for a
    slot and continues from its checkpoint."""
    owned(runs, run_id, principal, "resume")
    # A learner (then its owner) within their limit of active runs; the teacher is exempt.
    return runs.resume(run_id, quotas_for(services, principal)).info(history=False)


@router.post("/{run_id}/step", response_model=RunInfo, responses=_CONTROL)
def step_run(run_id: RunId, runs: RunsDep, principal: CurrentPrincipal) -> RunInfo:
    owned(runs, run_id, principal, "step")
    return runs.step(run_id).info(history=False)


@router.post("/{run_id}/stop", response_model=RunInfo, responses=_CONTROL)
def stop_run(run_id: RunId, runs: RunsDep, principal: CurrentPrincipal) -> RunInfo:
    owned(runs, run_id, principal, "stop")
    return runs.stop(run_id).info(history=False)


@router.post("/{run_id}/speed", response_model=RunInfo, responses=_CONTROL)
def set_speed(
    run_id: RunId, body: SpeedRequest, runs: RunsDep, principal: CurrentPrincipal
) -> RunInfo:
    owned(runs, run_id, principal, "change the speed of")
    return runs.set_speed(run_id, body.batches_per_second).info(history=False)


@router.post(
    "/{run_id}/save",
    response_model=ModelInfo,
    status_code=status.HTTP_201_CREATED,
    responses=_CONTROL,
)
def save_run(
    run_id: RunId,
    runs: RunsDep,
    models: ModelsDep,
    principal: CurrentPrincipal,
    services: ServicesDep,
    body: SaveRequest | None = None,
) -> ModelInfo:
    """The model belongs to the run's owner (a learner within their limit of models: 409). Plain
    `def`: the thread pool runs it (loading final weights, serialising, fsyncing)."""
    owned(runs, run_id, principal, "save")
    quotas = quotas_for(services, principal)  # a learner's (then the owner's); not the teacher's
    entry = runs.save(run_id, models, body.name if body else None, quotas)
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

"""/api/class/limits: what each learner may have at once (the teacher reads and changes it)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.access import class_responses as responses
from app.api.deps import Services, ServicesDep
from app.api.identity import TeacherPrincipal
from app.api.me_schemas import LearnerLimits, LimitsPatch

router = APIRouter(prefix="/api/class/limits", tags=["class"])


def _limits(services: Services) -> LearnerLimits:
    quotas, settings = services.quotas.current, services.settings
    return LearnerLimits(
        active_runs=quotas.active_runs,
        max_parameters=quotas.max_parameters,
        models=quotas.models,
        rate_predict=settings.rate_predict,
        rate_explain=settings.rate_explain,
        rate_runs=settings.rate_runs,
    )


@router.get("", response_model=LearnerLimits, responses=responses(401, 403))
async def get_limits(teacher: TeacherPrincipal, services: ServicesDep) -> LearnerLimits:
    return _limits(services)


@router.patch("", response_model=LearnerLimits, responses=responses(401, 403, 422))
def patch_limits(
    body: LimitsPatch, teacher: TeacherPrincipal, services: ServicesDep
) -> LearnerLimits:
    """Change learners' limits now (kept across restarts); runs and models already there
    stay. Rate limits are settings (NNP_RATE_*)."""
    services.quotas.change(**body.model_dump(exclude_none=True))
    return _limits(services)

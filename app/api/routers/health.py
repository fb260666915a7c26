"""GET /healthz: liveness for load balancers and the test suite."""

from __future__ import annotations

from fastapi import APIRouter

from app import __version__
from app.api.deps import ServicesDep
from app.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz(services: ServicesDep) -> dict:
    return {
        "status": "ok",
        "version": __version__,
        "models": len(services.models.list()),
        "live_runs": services.runs.active_count(),
    }

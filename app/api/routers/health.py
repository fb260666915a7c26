"""GET /healthz: liveness for load balancers and the test suite."""

from __future__ import annotations

from fastapi import APIRouter

from app import __version__
from app.api.deps import ServicesDep
from app.api.schemas import Health

router = APIRouter(tags=["health"])


# async: answered on the event loop itself, never waiting for a thread-pool slot, so it
# measures (and keeps) the loop's responsiveness; it only counts in-memory lists.
@router.get("/healthz", response_model=Health)
async def healthz(services: ServicesDep) -> dict[str, object]:
    return {
        "status": "ok",
        "version": __version__,
        "models": len(services.models.list()),
        "live_runs": services.runs.active_count(),
    }

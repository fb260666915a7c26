"""GET /healthz: liveness for load balancers and the test suite."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app import __version__
from app.api.deps import Services
from app.api.schemas import Health

router = APIRouter(tags=["health"])


# async: answered on the event loop itself, never waiting for a thread-pool slot, so it
# measures (and keeps) the loop's responsiveness; it only counts in-memory lists. It reads the
# services from the app rather than through ServicesDep: the most frequent request skips
# FastAPI's dependency solving (bench/http_overhead.py).
@router.get("/healthz", response_model=Health)
async def healthz(request: Request) -> dict[str, object]:
    services: Services = request.app.state.services
    return {
        "status": "ok",
        "version": __version__,
        "models": services.models.count(),
        "live_runs": services.runs.active_count(),
    }

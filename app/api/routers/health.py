"""GET /healthz: liveness for load balancers and the test suite."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response

from app import __version__
from app.api.deps import Services
from app.api.schemas import Health

router = APIRouter(tags=["health"])


# async: answered on the event loop itself, never waiting for a thread-pool slot, so it
# measures (and keeps) the loop's responsiveness; it only counts in-memory lists. It reads the
# services from the app rather than through ServicesDep, and answers its JSON as is (ints and
# a fixed version: nothing to validate), not through response_model's validation and
# serialisation (the schema stays declared): the most frequent request skips FastAPI's
# dependency solving and the pydantic round trip (bench/http_overhead.py).
@router.get("/healthz", response_model=Health)
async def healthz(request: Request) -> Response:
    services: Services = request.app.state.services
    models, live_runs = services.models.count(), services.runs.active_count()
    body = f'{_HEAD}"models":{models},"live_runs":{live_runs}}}'
    return Response(body, media_type="application/json")


_HEAD = f'{{"status":"ok","version":{json.dumps(__version__)},'

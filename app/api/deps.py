"""Dependencies, as Annotated aliases: routers declare what they need by type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.api.principals import Identity
from app.api.rates import RateLimiter
from app.runs.fanout import FanOut
from app.runs.manager import RunManager
from app.settings import Settings
from app.store.db import Store
from app.store.drawings import DrawingStore
from app.store.learners import Learners
from app.store.models import ModelRegistry
from app.store.quotas import QuotaBook


@dataclass
class Services:
    """What the lifespan opens and every request shares (one process owns all of it)."""

    settings: Settings
    store: Store
    models: ModelRegistry
    runs: RunManager
    fanout: FanOut
    learners: Learners  # class mode (issue 16): the learners and their tokens
    identity: Identity  # who a request comes from (app/api/identity.py asks it)
    quotas: QuotaBook  # what a learner may have at once
    rates: RateLimiter  # how often a learner may predict, explain, start runs
    drawings: DrawingStore  # labelled drawings and the class dataset (issue 17)


# HTTPConnection rather than Request, so the same dependencies serve the WebSocket route.
# async: FastAPI runs a plain `def` dependency in the thread pool, a hop that cost more than
# the rest of a /healthz answer (bench/http_overhead.py).
async def get_services(conn: HTTPConnection) -> Services:
    services: Services = conn.app.state.services  # the lifespan put it there
    return services


async def get_settings(conn: HTTPConnection) -> Settings:
    return (await get_services(conn)).settings


async def get_models(conn: HTTPConnection) -> ModelRegistry:
    return (await get_services(conn)).models


async def get_runs(conn: HTTPConnection) -> RunManager:
    return (await get_services(conn)).runs


async def get_fanout(conn: HTTPConnection) -> FanOut:
    return (await get_services(conn)).fanout


async def get_drawings(conn: HTTPConnection) -> DrawingStore:
    return (await get_services(conn)).drawings


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ModelsDep = Annotated[ModelRegistry, Depends(get_models)]
RunsDep = Annotated[RunManager, Depends(get_runs)]
FanOutDep = Annotated[FanOut, Depends(get_fanout)]
DrawingsDep = Annotated[DrawingStore, Depends(get_drawings)]

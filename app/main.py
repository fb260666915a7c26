"""The application factory.

One process owns all state (the SQLite store, the models in memory, the runs and their
WebSocket watchers), so the server must run with a single worker: `uvicorn --workers 1`, which
is what `nn-playground serve` does. More workers would each keep runs and store on their own.
Training itself happens in worker processes (app/runs/local.py), one per run.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.api import errors
from app.api.access import document_class_errors, install_class_errors
from app.api.deps import Services
from app.api.finite import FiniteJSONResponse
from app.api.heavy import WorkGate, trim_memory_forever
from app.api.limits import BodyLimitMiddleware
from app.api.principals import Identity
from app.api.rates import RateLimiter
from app.api.routers import (
    classroom,
    digits,
    docs,
    drawings,
    events,
    explain,
    health,
    limits,
    me,
    models,
    pages,
    predict,
    presets,
    runs,
    vocabulary,
)
from app.api.security import ContentTypeMiddleware, SecurityMiddleware, allowed_hosts
from app.api.teacher_link import ClassCookieMiddleware
from app.nn.network import set_blas_threads
from app.paths import SHIPPED_MODELS_DIR, STATIC_DIR
from app.runs.executor import DataSource
from app.runs.executors import make_executor
from app.runs.fanout import FanOut
from app.runs.manager import RunManager
from app.settings import Settings
from app.store.db import Store
from app.store.drawings import DrawingLimits, DrawingStore
from app.store.keys import cookie_key, teacher_token
from app.store.learners import Learners
from app.store.models import ModelRegistry
from app.store.quotas import QuotaBook, Quotas

log = logging.getLogger(__name__)

DB_NAME = "nn-playground.sqlite3"
SWITCH_INTERVAL = 0.0005


def serve(app: FastAPI, host: str, port: int, log_level: str = "info") -> None:
    """Run `app` with uvicorn as `nn-playground serve` does (the benches use it too, for our
    app and a bare one alike).

    - WebSocket messages are not compressed (permessage-deflate off): compressing each weight
      map once per watcher took the server's CPU from training (issue 18, item 7), and the
      clients are on this machine or a LAN.
    - No access log (a line per request): it cost more than the rest of a /healthz answer
      (bench/http_overhead.py); start-up, warnings and errors are still logged.
    - What is built by now (modules, routes, schemas: ~88,000 objects that live as long as the
      process) is moved out of the garbage collector's sight (`gc.freeze`): a full
      collection, which stalls the event loop and every request on it, then walks ~1,000
      objects instead (measured under load: 124 ms → 0.1 ms).
    """
    import uvicorn

    gc.freeze()

    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        ws_per_message_deflate=False,
    )


def class_teacher_token(settings: Settings) -> str | None:
    """The teacher token in class mode (NNP_TEACHER_TOKEN, else the data dir's; ValueError
    for one too short), None without class mode."""
    if not settings.class_mode:
        return None
    given = settings.teacher_token.get_secret_value() if settings.teacher_token else None
    return teacher_token(settings.data_dir, given)


def _class_services(settings: Settings, store: Store) -> tuple[Learners, Identity, QuotaBook]:
    """Class mode's state (issue 16): the learners (the store owns them), who a request
    comes from, and the learners' limits (the settings', or what the teacher set)."""
    learners = Learners(store)
    identity = Identity(learners, cookie_key(settings.data_dir), class_teacher_token(settings))
    defaults = Quotas(
        settings.learner_max_active_runs,
        settings.learner_max_parameters,
        settings.learner_max_models,
    )
    return learners, identity, QuotaBook(store, defaults)


def _drawings(settings: Settings, store: Store, learners: Learners) -> DrawingStore:
    """The labelled drawings (issue 17), in <data_dir>/drawings/."""
    limits = DrawingLimits(settings.drawings_max_per_owner, settings.drawings_max_bytes_per_owner)
    drawings = DrawingStore(store, settings.data_dir / "drawings", limits, learners.name_of)
    drawings.load()
    return drawings


# long: every service opens, in order, and closes in one place (the inner lifespan)
def _lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """What the app opens at start-up and closes at shutdown (see create_app)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The runs' reader threads hold the GIL while they apply events; a request waiting
        # for it would wait up to the switch interval (5 ms by default) at every hand-over.
        # 0.5 ms keeps predict's p99 low while runs train (measured, with training threads in
        # this process, with bench/load_predict.py).
        previous_switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        # One BLAS thread for predictions: a multithreaded BLAS would take every core from the
        # workers (and on a busy machine it is slower anyway; see set_blas_threads).
        set_blas_threads(1)
        data_dir = settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        store = Store(data_dir / DB_NAME)
        learners, identity, quotas = _class_services(settings, store)
        registry = ModelRegistry(store, data_dir / "models", SHIPPED_MODELS_DIR, learners.name_of)
        registry.load()
        drawings = _drawings(settings, store, learners)  # before the runs: they read it
        manager = RunManager(
            store,
            data_dir / "runs",
            DataSource(
                settings.mnist_dir,
                settings.cache_dir,
                settings.mnist_download,
                tuple(settings.mnist_mirrors) if settings.mnist_mirrors else None,
                dict(settings.datasets),  # fashion: the other datasets' sources
            ),
            max_runs=settings.max_runs,
            max_queued=settings.max_queued,
            executor=make_executor(settings.executor, settings.ray_address),
            paused_slot_seconds=settings.paused_slot_seconds,
            names=learners.name_of,
            drawings=drawings,  # finetune: runs on labelled drawings snapshot them
        )
        manager.start()
        fanout = FanOut(settings.ws_stall_seconds)
        # Decoding a big image takes a core: leave one for the event loop (measured with
        # bench/heavy_requests.py: two decodes on a two-core machine stalled /healthz).
        slots = settings.heavy_slots or max(1, (os.cpu_count() or 2) - 1)
        app.state.heavy = WorkGate(slots, settings.heavy_wait_seconds, settings.heavy_queue)
        app.state.services = Services(
            settings, store, registry, manager, fanout, learners, identity, quotas, RateLimiter(),
            drawings,
        )  # fmt: skip
        trimmer = asyncio.create_task(trim_memory_forever())
        try:
            yield
        finally:
            trimmer.cancel()
            app.state.heavy.close()
            # Watchers first (no more sends), then the workers (bounded wait), then the
            # database the manager writes to.
            await fanout.close()
            await asyncio.to_thread(manager.shutdown)
            store.close()
            sys.setswitchinterval(previous_switch)

    return lifespan


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    def body_limit(method: str, path: str) -> int:
        if method == "POST" and path.rstrip("/") == "/api/models":
            return settings.max_model_bytes
        if method == "POST" and path.rstrip("/") == "/api/drawings/import":
            return settings.drawings_import_max_bytes
        return settings.max_request_bytes

    # Innermost first: the 415 check comes after the body limits (as the dependency it
    # replaces did), the security checks before everything.
    app.add_middleware(ContentTypeMiddleware, routes=lambda: app.router.routes)
    app.add_middleware(
        BodyLimitMiddleware,
        limit_for=body_limit,
        timeout=settings.body_timeout_seconds,
        max_reads=settings.max_body_reads,
    )
    app.add_middleware(
        SecurityMiddleware,
        allowed_hosts=allowed_hosts(settings.allowed_hosts, settings.host),
        allowed_origins=settings.allowed_origins,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="nn-playground",
        version=__version__,
        description="Draw a digit, watch a NumPy neural network light up, and train it live.",
        lifespan=_lifespan(settings),
        # /docs is served from vendored files by app/api/routers/docs.py (no CDN, no inline
        # script); ReDoc is not offered.
        docs_url=None,
        redoc_url=None,
        default_response_class=FiniteJSONResponse,  # no NaN/Infinity in any answer: 409
    )

    if settings.class_mode:  # only then: a single-user server pays nothing for it
        app.add_middleware(ClassCookieMiddleware)
    _add_middleware(app, settings)
    errors.install(app)
    install_class_errors(app)
    # /healthz first: the router tries routes in order, and it is the most frequent request.
    routers = (
        *(health, predict, explain, models, runs, events, digits, presets, vocabulary),
        *(me, limits),
        drawings,
    )
    for module in (*routers, classroom, pages, docs):
        app.include_router(module.router)
    app.include_router(drawings.class_router)  # issue 17: /api/class/drawings
    drawings.install_drawing_errors(app)
    document_class_errors(app, [*(module.router for module in routers), drawings.class_router])
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    return app

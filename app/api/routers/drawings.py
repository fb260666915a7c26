"""/api/drawings: the caller's labelled drawings (issue 17), and /api/class/drawings: the
class dataset the teacher pools from them. Thin: decoding is app/data's (drawing_sets), storing
the store's (app/store/drawings.py)."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Annotated, Literal

import numpy as np
from fastapi import (
    APIRouter,
    FastAPI,
    File,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
    status,
)
from fastapi.responses import FileResponse, JSONResponse

from app.api.access import class_responses as responses
from app.api.access import rate_check, require_owner
from app.api.deps import DrawingsDep, Services, ServicesDep
from app.api.drawing_schemas import (
    ClassDrawings,
    DrawingCreate,
    DrawingInfo,
    DrawingList,
    DrawingPatch,
    ImportResult,
)
from app.api.errors import error
from app.api.heavy import GateDep
from app.api.identity import CurrentPrincipal, LearnerPrincipal, Principal, TeacherPrincipal
from app.api.schemas import ErrorResponse
from app.data.decode import InputError, decode_image
from app.data.drawing_sets import (
    ImageTooLarge,
    ImportLimits,
    ImportRefused,
    decode_rows,
    export_zip,
    prepare,
    read_rows,
)
from app.runs.local import worker_context
from app.store.drawings import (
    ClassSummary,
    Drawing,
    DrawingNotFound,
    DrawingStore,
    TooManyDrawings,
)
from app.store.files import ID_PATTERN

log = logging.getLogger(__name__)
# An import's progress goes to the server's own log (uvicorn's, shown at `serve`'s log level,
# info by default): the app configures no logging of its own, so its INFO lines would be lost.
progress_log = logging.getLogger("uvicorn.error")
router = APIRouter(prefix="/api/drawings", tags=["drawings"])
class_router = APIRouter(prefix="/api/class/drawings", tags=["class"])

DrawingId = Annotated[str, Path(pattern=ID_PATTERN, description="a drawing id")]
IncludeInput = Annotated[
    list[Literal["input"]], Query(description="input: add each drawing's 784 inputs")
]
_BUSY: dict[int | str, dict[str, object]] = {
    503: {"model": ErrorResponse, "description": "busy: too many heavy requests (Retry-After)"}
}


def counts_json(counts: dict[int, int]) -> dict[str, int]:
    return {str(label): count for label, count in counts.items()}


def info(store: DrawingStore, drawing: Drawing, x: np.ndarray | None = None) -> DrawingInfo:
    return DrawingInfo(
        id=drawing.id,
        label=drawing.label,
        owner=drawing.owner,
        owner_name=store.owner_name(drawing),
        created=drawing.created,
        width=drawing.width,
        height=drawing.height,
        source=drawing.source,
        input=None if x is None else x.astype(np.float64).round(6).tolist(),
    )


def _mine(store: DrawingStore, drawing_id: str, principal: Principal, what: str) -> Drawing:
    """The drawing, when `principal` owns it or is the teacher; else 403 naming both."""
    drawing = store.get(drawing_id)  # DrawingNotFound → 404
    owner_name = store.owner_name(drawing)
    require_owner(principal, drawing.owner, owner_name, f"{what} drawing {drawing_id}")
    return drawing


def _rate(services: Services, request: Request, principal: Principal) -> None:
    if services.identity.class_mode:
        rate_check(services, request, principal, "drawings")


OwnerQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="whose drawings: an owner id, or `all` (the teacher's to ask); default: yours",
    ),
]


@router.get(
    "",
    response_model=DrawingList,
    response_model_exclude_none=True,
    responses=responses(403, 422),
)
def list_drawings(
    drawings: DrawingsDep,
    principal: CurrentPrincipal,
    include: IncludeInput = [],  # noqa: B006
    owner: OwnerQuery = None,
) -> DrawingList:
    """The caller's drawings (the teacher may ask for anyone's, or `all`), in the order they
    were made, and how many of each digit."""
    whose = principal.id if owner is None else owner
    if whose != principal.id and not principal.is_teacher:
        raise HTTPException(403, f"only the teacher may list others' drawings; you are "
                                 f"{principal.name}")  # fmt: skip
    found = drawings.of(None if whose == "all" else whose)
    inputs = drawings.inputs([d.id for d in found]) if "input" in include else {}
    return DrawingList(
        drawings=[info(drawings, d, inputs.get(d.id)) for d in found],
        counts=counts_json(drawings.counts(None if whose == "all" else whose)),
    )


def _create(store: DrawingStore, body: DrawingCreate, owner: str, max_bytes: int) -> Drawing:
    """Decode, preprocess and store (in the heavy pool)."""
    image = decode_image(body.image) if body.image is not None else None
    prepared = prepare(image, body.pixels, max_bytes)
    return store.add(owner, body.label, body.source, prepared)


@router.post(
    "",
    response_model=DrawingInfo,
    response_model_exclude_none=True,
    status_code=status.HTTP_201_CREATED,
    responses={**responses(401, 409, 413, 422, 429), **_BUSY},
)
async def create_drawing(
    body: DrawingCreate,
    request: Request,
    services: ServicesDep,
    gate: GateDep,
    principal: LearnerPrincipal,
) -> DrawingInfo:
    """Store a labelled drawing (the image as predict takes it, kept as PNG, and its 28×28
    input as predict makes it). 409 over the owner's limit, 413 for an image over
    NNP_DRAWING_MAX_IMAGE_BYTES, 422 for what predict would refuse, 507 on a full disk."""
    _rate(services, request, principal)
    store, limit = services.drawings, services.settings.drawing_max_image_bytes
    drawing = await gate.run(_create, store, body, principal.id, limit)
    return info(store, drawing)


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}, "description": "the zip (docs/api.md)"},
        **_BUSY,
    },
)
async def export_drawings(
    drawings: DrawingsDep, gate: GateDep, principal: CurrentPrincipal
) -> Response:
    """The caller's drawings as a zip in MNIST's format: IDX images and labels, labels.csv
    and the original PNGs (docs/api.md); it imports back to the same set."""
    data = await gate.run(_export, drawings, principal.id)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="drawings.zip"'},
    )


def _export(store: DrawingStore, owner: str) -> bytes:
    return export_zip(store.export_items(owner))


# Below this many images an import decodes them in its own thread: starting a process pool
# costs more than it saves.
POOL_FROM = 200


def _import(store: DrawingStore, data: bytes, owner: str, limits: ImportLimits) -> list[Drawing]:
    """Validate every row, then store them all in one go (in the heavy pool). A big import's
    images are decoded in worker processes, one per core (the runs' forkserver): they take
    neither the event loop's GIL nor more than the machine's cores."""

    def progress(done: int, total: int) -> None:
        progress_log.info("drawings import for %s: %d of %d images decoded", owner, done, total)

    rows, idx = read_rows(data, limits)
    if len(rows) < POOL_FROM:
        prepared = decode_rows(rows, idx, map, progress)
    else:
        workers = max(1, min(os.cpu_count() or 1, 4))
        with ProcessPoolExecutor(workers, mp_context=worker_context()) as pool:
            prepared = decode_rows(rows, idx, lambda f, xs: pool.map(f, xs, chunksize=64), progress)
    stored = store.add_many(owner, "import", prepared)
    progress_log.info("drawings import for %s: %d drawings stored", owner, len(stored))
    return stored


@router.post(
    "/import",
    response_model=ImportResult,
    status_code=status.HTTP_201_CREATED,
    responses={
        **responses(401, 409, 413, 429),
        422: {
            "model": ErrorResponse,
            "description": "Invalid: not a zip, no labels.csv, or bad rows: then `errors` "
            'lists each, [{"row": n (labels.csv\'s; its header is row 1) or null, "file", '
            '"error"}]; nothing was imported',
        },
        **_BUSY,
    },
)
async def import_drawings(
    request: Request,
    services: ServicesDep,
    gate: GateDep,
    principal: LearnerPrincipal,
    file: Annotated[UploadFile, File(description="a zip of PNGs with a labels.csv")],
) -> ImportResult | JSONResponse:
    """A zip of PNGs and a `labels.csv` (columns file,label; a header row), all checked
    before anything is stored: bad rows are answered one by one (422) and nothing is
    imported. 413 over the zip's limits, 409 over the owner's limit of drawings."""
    _rate(services, request, principal)
    settings, store = services.settings, services.drawings
    limits = ImportLimits(
        max_zip_bytes=settings.drawings_import_max_bytes,
        max_files=settings.drawings_import_max_rows + 8,
        max_image_bytes=settings.drawing_max_image_bytes,
        max_total_bytes=settings.drawings_import_max_unpacked,
        max_rows=settings.drawings_import_max_rows,
    )
    data = await file.read()
    try:
        stored = await gate.run(_import, store, data, principal.id, limits)
    except ImportRefused as exc:
        body: dict[str, object] = {"detail": exc.detail}
        if exc.errors:
            body["errors"] = [e.__dict__ for e in exc.errors]
        return JSONResponse(body, status_code=exc.status)
    except BrokenProcessPool:  # a decoding worker died (killed, out of memory)
        log.warning("a drawings import failed: a decoding worker process died")
        return error(503, "the import's decoding workers stopped; nothing was imported: try again")
    counts = counts_json(store.counts(principal.id))
    return ImportResult(imported=len(stored), counts=counts)


_ONE = responses(403, 404, 422)


@router.get(
    "/{drawing_id}", response_model=DrawingInfo, response_model_exclude_none=True, responses=_ONE
)
def get_drawing(
    drawing_id: DrawingId,
    drawings: DrawingsDep,
    principal: CurrentPrincipal,
    include: IncludeInput = [],  # noqa: B006
) -> DrawingInfo:
    """One drawing (its owner's, or the teacher's to read)."""
    drawing = _mine(drawings, drawing_id, principal, "read")
    x = drawings.inputs([drawing.id]).get(drawing.id) if "input" in include else None
    return info(drawings, drawing, x)


@router.get(
    "/{drawing_id}/image",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {}}, "description": "the stored PNG"}, **_ONE},
)
def get_image(
    drawing_id: DrawingId, drawings: DrawingsDep, principal: CurrentPrincipal
) -> Response:
    """The drawing's original image as PNG (for a `pixels` drawing, its 28×28)."""
    drawing = _mine(drawings, drawing_id, principal, "read")
    path = drawings.path(drawing.id)
    if not path.is_file():
        log.warning("drawing %s has no image file %s", drawing.id, path)
        return error(404, f"the image of drawing {drawing.id} is missing on the server")
    return FileResponse(path, media_type="image/png")


@router.patch(
    "/{drawing_id}",
    response_model=DrawingInfo,
    response_model_exclude_none=True,
    responses=responses(401, 403, 404, 422),
)
def relabel_drawing(
    drawing_id: DrawingId, body: DrawingPatch, drawings: DrawingsDep, principal: LearnerPrincipal
) -> DrawingInfo:
    """Give the drawing another label (its owner, or the teacher)."""
    _mine(drawings, drawing_id, principal, "relabel")
    return info(drawings, drawings.relabel(drawing_id, body.label))


@router.delete(
    "/{drawing_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(401, 403, 404, 422),
)
def delete_drawing(
    drawing_id: DrawingId, drawings: DrawingsDep, principal: LearnerPrincipal
) -> Response:
    """Delete the drawing and its image (its owner, or the teacher); works on a full disk."""
    _mine(drawings, drawing_id, principal, "delete")
    drawings.delete(drawing_id)
    return Response(status_code=204)


# -- the class dataset -------------------------------------------------------------------


def class_json(summary: ClassSummary) -> ClassDrawings:
    return ClassDrawings(
        count=summary.count, counts=counts_json(summary.counts), pooled_at=summary.pooled_at
    )


@class_router.get("", response_model=ClassDrawings)
def class_drawings(drawings: DrawingsDep) -> ClassDrawings:
    """The class dataset's size (count 0 and pooled_at null when there is none)."""
    return class_json(drawings.class_summary())


@class_router.post("", response_model=ClassDrawings, responses=responses(401, 403))
def pool_class_drawings(drawings: DrawingsDep, teacher: TeacherPrincipal) -> ClassDrawings:
    """The teacher's: replace the class dataset with everyone's current drawings (a
    snapshot: later changes to a drawing don't change it; pool again for them). Every learner
    may train on it (a run's `drawings_pool: "class"`)."""
    return class_json(drawings.pool_class())


@class_router.delete("", response_model=ClassDrawings, responses=responses(401, 403))
def clear_class_drawings(drawings: DrawingsDep, teacher: TeacherPrincipal) -> ClassDrawings:
    """The teacher's: empty the class dataset."""
    return class_json(drawings.clear_class())


def install_drawing_errors(app: FastAPI) -> None:
    """The store's and the decoder's errors as HTTP: unknown id 404, over the owner's limit
    409, an image too large 413, an input predict would refuse 422."""
    codes: dict[type[Exception], int] = {
        DrawingNotFound: 404,
        TooManyDrawings: 409,
        ImageTooLarge: 413,
        InputError: 422,
    }
    for exc_type, code in codes.items():

        async def handler(request: Request, exc: Exception, code: int = code) -> JSONResponse:
            message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            return error(code, message)

        app.add_exception_handler(exc_type, handler)

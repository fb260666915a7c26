"""POST /api/predict: a drawing in, the network's answer (and optionally its insides) out."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from app.api.access import PredictCaller
from app.api.errors import error, responses
from app.api.finite import dumps
from app.api.heavy import WorkGate
from app.api.schemas import PredictRequest, PredictResponse
from app.data.decode import SMALL_BYTES, InputError, Pixels, decode_image, is_small, to_input
from app.data.preprocess import Note
from app.jsontypes import JSONObject
from app.store.files import is_valid_id
from app.store.models import ModelEntry, ModelRegistry

router = APIRouter(prefix="/api/predict", tags=["predict"])

_MULTIPART_SCHEMA = {
    "type": "object",
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "a PNG/JPEG/WebP image"},
        "model": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"},
    },
    "required": ["file"],
}
_OPENAPI_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": PredictRequest.model_json_schema()},
            "multipart/form-data": {"schema": _MULTIPART_SCHEMA},
        },
    }
}


def answer(
    entry: ModelEntry, x: np.ndarray, include: list[str] | set[str], note: Note | None = None
) -> JSONObject:
    network = entry.net
    batch = x.reshape(1, -1)
    probabilities = network.predict_proba(batch)[0].astype(np.float64)
    digit = int(np.argmax(probabilities))
    result: JSONObject = {
        "digit": digit,
        "confidence": float(probabilities[digit]),
        "probabilities": probabilities.tolist(),
        "model": entry.id,
        "note": None if note is None else {"code": note.code, "message": note.message},
    }
    if "input" in include:
        result["input"] = x.astype(np.float64).tolist()
    if "activations" in include or "zs" in include:
        forward = network.forward(batch)
        if "activations" in include:
            result["activations"] = [a[0].tolist() for a in forward.activations[1:]]
        if "zs" in include:
            result["zs"] = [z[0].tolist() for z in forward.zs]
    return result


# A small drawing (a plain PNG of at most 320×320 pixels, as the page sends, or a pixel list:
# app/data/decode.py's is_small) is answered on the event loop itself: its ~1 ms of work costs
# less than the hand-off to a worker thread and back. Bigger images are decoded, and answered,
# in the bounded pool of heavy work (app/api/heavy.py), so they never stall other requests nor
# pile up: excess ones get 503. The registry and the gate are read from the app rather than
# declared as dependencies: FastAPI's dependency solving cost more per request than the rest
# of the web layer (bench/http_overhead.py).
@router.post(
    "",
    response_model=PredictResponse,
    responses=responses(404, 409, 413, 422, unavailable=["busy"]),
    openapi_extra=_OPENAPI_BODY,
    summary="Recognise a drawn digit",
)
async def predict(request: Request, caller: PredictCaller) -> Response:
    """JSON `{"image" | "pixels", "model", "include"}` or multipart `file` (+ `model`).

    A drawing bigger than the page's (a PNG over 320×320 pixels or 64 KiB, with more than 8
    bits a sample, interlaced, or with chunks beyond the plain ones; a JPEG or a WebP) is
    decoded in a bounded pool of heavy work, so big images never stall other requests nor pile
    up: when the pool is full the answer is 503 with Retry-After.
    """
    models: ModelRegistry = request.app.state.services.models
    gate: WorkGate = request.app.state.heavy
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=1, max_fields=4)
        except HTTPException as exc:  # Starlette reports a malformed multipart body as 400
            return error(422, f"the multipart body is malformed: {exc.detail}")
        upload = form.get("file")
        model_id = form.get("model") or None
        if not isinstance(upload, UploadFile):
            return error(422, "file: a multipart request needs a 'file' field with the image")
        if model_id is not None and not isinstance(model_id, str):
            return error(422, "model: must be a model id")
        data = await upload.read()
        if is_small(data):
            return _predict(models, model_id, data, None, [])
        return await gate.run(_predict, models, model_id, data, None, [])
    body = await request.body()
    if len(body) > SMALL_BODY:  # parsing it (base64 included) is heavy work already
        return await gate.run(_predict_json, models, body)
    parsed = _parse(body)
    if isinstance(parsed, Response):
        return parsed
    query, image = parsed
    include: list[str] = list(query.include)
    if image is None or is_small(image):
        return _predict(models, query.model, image, query.pixels, include)
    return await gate.run(_predict, models, query.model, image, query.pixels, include)


# A JSON body with a small drawing: base64 of SMALL_BYTES, the field names and a little room.
SMALL_BODY = SMALL_BYTES * 4 // 3 + 1024


def _parse(body: bytes) -> tuple[PredictRequest, bytes | None] | Response:
    """The JSON request and its image's bytes (None for pixels), or the 422 to answer;
    RequestValidationError for a body that doesn't fit the schema."""
    try:
        request = PredictRequest.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None
    try:
        data = decode_image(request.image) if request.image is not None else None
    except InputError as exc:
        return error(422, str(exc))
    return request, data


def _predict_json(models: ModelRegistry, body: bytes) -> Response:
    """The answer for a JSON body (runs in the pool: a big body)."""
    parsed = _parse(body)
    if isinstance(parsed, Response):
        return parsed
    request, data = parsed
    return _predict(models, request.model, data, request.pixels, list(request.include))


def _predict(
    models: ModelRegistry,
    model_id: str | None,
    data: bytes | None,
    pixels: Pixels | None,
    include: list[str],
) -> Response:
    """The answer for a decoded request (in the pool, or on the loop for a small drawing)."""
    if model_id is not None and not is_valid_id(model_id):
        return error(404, f"no model with id {model_id!r}")
    entry = models.get(model_id)  # ModelNotFound → 404 before any image work
    try:
        x, note = to_input(data, pixels)
    except InputError as exc:
        return error(422, str(exc))
    x = entry.input_for(x)  # the model's input transform (handwriting: deslant)
    return Response(
        dumps(answer(entry, x, include, note), "the prediction"), media_type="application/json"
    )

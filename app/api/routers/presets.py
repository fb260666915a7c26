"""GET /api/presets: the named training recipes and the limits configs are checked against."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.schemas import PresetsResponse
from app.jsontypes import JSONObject
from app.presets import LIMITS, PRESETS

router = APIRouter(prefix="/api/presets", tags=["presets"])


@router.get("", response_model=PresetsResponse)
def presets() -> JSONObject:  # each preset's config, and the limits
    return {**{name: config.to_dict() for name, config in PRESETS.items()}, "limits": LIMITS}

"""GET /api/presets: the named training recipes and the limits configs are checked against."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.schemas import PresetsResponse
from app.presets import LIMITS, PRESETS

router = APIRouter(prefix="/api/presets", tags=["presets"])


@router.get("", response_model=PresetsResponse)
def presets() -> dict[str, Any]:  # Any: each preset's config as JSON, and the limits
    return {**{name: config.to_dict() for name, config in PRESETS.items()}, "limits": LIMITS}

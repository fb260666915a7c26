"""Response shapes of /api/class/* (issue 16, section 2)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.jsontypes import JSONObject


class ClassConfigMessage(BaseModel):
    """The teacher's pushed training config: the same message /api/class/events sends."""

    type: Literal["config"] = "config"
    config: JSONObject | None = Field(
        description="the resolved training config (TrainConfig's fields, and `preset` when it "
        "started from one), ready for POST /api/runs; null: nothing pushed"
    )
    pushed_at: float | None = Field(description="Unix time of the push; null: nothing pushed")

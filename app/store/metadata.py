"""What a model's stored metadata may hold: checked before anything is stored, and again on
every row read back, so nothing stored can make an answer un-servable (NaN is not JSON)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from app.store.db import TEACHER_ID, ModelRowText

MAX_NAME_LENGTH = 80


class BadMetadata(ValueError):
    """Metadata that can't be stored or served (e.g. a test accuracy of NaN)."""


def accuracy(value: object) -> float | None:
    """A test accuracy: absent (None) or a number from 0 to 1; BadMetadata otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadMetadata(f"test_accuracy must be a number from 0 to 1, not {value!r:.40}")
    number = float(value)
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise BadMetadata(f"test_accuracy must be a number from 0 to 1, not {number!r}")
    return number


def lenient_accuracy(value: object) -> float | None:
    """A shipped or run's accuracy as a float, or None when it isn't a valid accuracy."""
    try:
        return accuracy(float(value) if isinstance(value, str) else value)
    except (BadMetadata, ValueError):
        return None


def servable(content: object) -> bool:
    """Whether `content` can be answered as JSON (no NaN or Infinity, only JSON types)."""
    try:
        json.dumps(content, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Row:
    """A stored model row, checked: what the registry lists for it."""

    id: str
    name: str
    created: str | None
    test_accuracy: float | None
    source_run: str | None
    problem: str | None  # why the row's metadata can't be served as stored
    owner: str = TEACHER_ID
    shared: bool = False


def check_row(model_id: str, row: ModelRowText) -> Row:
    """The row as the registry may serve it. A field that can't be served is left out and
    named in `problem` (the model is then listed as broken, so it can still be deleted)."""
    name, created, info_text = row.name, row.created, row.info
    problems: list[str] = []
    if not isinstance(name, str) or not name.strip():
        problems.append(f"its name is {type(name).__name__}, not text")
        name = model_id
    if not isinstance(created, str):
        problems.append("its creation time is not text")
        created = None
    info: object = {}
    try:
        info = json.loads(info_text) if isinstance(info_text, str | bytes) else None
    except ValueError:
        info = None
    if not isinstance(info, dict):
        problems.append("its info is not a JSON object")
        info = {}
    try:
        test_accuracy = accuracy(info.get("test_accuracy"))
    except BadMetadata as exc:
        problems.append(str(exc))
        test_accuracy = None
    source = info.get("source_run")
    if source is not None and not isinstance(source, str):
        problems.append("its source_run is not text")
    source_run = source if isinstance(source, str) else None
    problem = "stored metadata can't be served: " + "; ".join(problems) if problems else None
    owner = row.owner if isinstance(row.owner, str) else TEACHER_ID
    shared = bool(row.shared) if isinstance(row.shared, int) else False
    return Row(
        model_id, name[:MAX_NAME_LENGTH], created, test_accuracy, source_run, problem,
        owner, shared,
    )  # fmt: skip

"""Only finite numbers in JSON answers (issue 11, section 4).

Python's json writes NaN and Infinity, which are not JSON, and pydantic quietly turns them into
null, which breaks the schema. Every JSON answer goes through `dumps` instead: the app's default
response class uses it, and so do the routers that send ready-made bytes. A non-finite number
raises NonFiniteAnswer, which the app answers 409 with a detail (app/api/errors.py): the numbers
come from a model or run whose arithmetic overflowed, a state of that model, not bad input.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse

from app.jsontypes import JSONObject


class NonFiniteAnswer(ValueError):
    """The answer would hold NaN or Infinity."""


def dumps(content: Any, what: str = "the answer") -> bytes:  # Any: any JSON value
    """Compact JSON bytes of `content`; NonFiniteAnswer if it holds NaN or Infinity."""
    try:
        text = json.dumps(content, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        raise NonFiniteAnswer(
            f"{what} would hold NaN or Infinity (the model's arithmetic overflows), "
            "which JSON can't carry"
        ) from None
    return text.encode("utf-8")


def splice(content: JSONObject, key: str, parts: list[bytes]) -> bytes:
    """`dumps({**content, key: items})` given each item already encoded (`parts`): a big
    answer (megabytes of gradients) is then encoded in small calls, none of which holds the GIL
    for long, so the event loop keeps answering meanwhile."""
    head = dumps({**content, key: []})
    marker = f'"{key}":[]'.encode()
    at = head.rindex(marker) + len(marker) - 1
    return b"".join((head[:at], b",".join(parts), head[at:]))


class FiniteJSONResponse(JSONResponse):
    """JSONResponse that refuses NaN and Infinity (NonFiniteAnswer → 409) instead of writing
    them or nulling them."""

    def render(self, content: Any) -> bytes:  # Any: Starlette's signature; any JSON value
        return dumps(content)

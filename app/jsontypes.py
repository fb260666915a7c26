"""JSON as the app passes it around: parsed from a request or a file, or about to be sent or
written. Its values are checked where they are used (e.g. app/nn/serialize.py checks a model
file's metadata), so they are typed loosely here, in one place."""

from __future__ import annotations

from typing import Any

JSONObject = dict[str, Any]  # Any: any JSON value (str, number, bool, null, list, object)

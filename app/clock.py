"""The one timestamp format the app writes (model files' `created`, stored rows, model cards):
UTC to the second, ISO 8601 with a Z, e.g. "2026-12-04T09:20:00Z"."""

from __future__ import annotations

from datetime import UTC, datetime

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_now() -> str:
    """Now, in the app's timestamp format."""
    return datetime.now(UTC).strftime(TIMESTAMP_FORMAT)

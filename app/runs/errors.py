"""What the run layer refuses, by kind (the web layer maps each to its HTTP status)."""

from __future__ import annotations


class RunNotFound(KeyError):
    """No run has this id (→ 404)."""


class RunStateError(Exception):
    """The request is valid but not in the run's current state (→ 409)."""


class TooManyRuns(Exception):
    """Every training slot is busy and the queue is full (→ 429)."""

"""Waiting for the page without string eval inside it.

The app's Content-Security-Policy has no 'unsafe-eval', and Playwright's own
`wait_for_function` evaluates its predicate with `eval` inside the page, which the
CSP (rightly) refuses. `wait_for` polls the same expression through `page.evaluate`,
which runs over the DevTools protocol, until it is truthy or the deadline passes.
"""

from __future__ import annotations

import time
from typing import Any


def wait_for(
    page: Any, expression: str, arg: Any = None, timeout: float = 30000, interval: float = 20
) -> Any:
    """Poll `expression` (as `page.evaluate` takes it) until truthy; return its value."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + timeout / 1000
    last_error: str | None = None
    while True:
        try:
            value = page.evaluate(expression, arg)
        except PlaywrightError as exc:  # a navigation replaced the context: ask again
            if "context was destroyed" not in str(exc) and "navigat" not in str(exc):
                raise
            value, last_error = None, str(exc)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"waited {timeout:.0f} ms for {expression!r}"
                + (f" (arg={arg!r})" if arg is not None else "")
                + (f"; last error: {last_error}" if last_error else "")
            )
        page.wait_for_timeout(interval)

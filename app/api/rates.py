"""Rate limits per learner (issue 16, section 4): at most N requests of a kind in any 60
seconds, counted in memory per principal (a sliding window: exact, and the answer says when the
next one is allowed)."""

from __future__ import annotations

import threading
import time
from collections import deque

WINDOW_SECONDS = 60.0


class RateLimiter:
    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self._lock = threading.Lock()
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def hit(self, who: str, kind: str, limit: int) -> float | None:
        """Count one request of `kind` by `who`; None when it is allowed, else the seconds
        until it would be (nothing is counted then)."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault((who, kind), deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= limit:
                return hits[0] + self.window - now
            hits.append(now)
            return None

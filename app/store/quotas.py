"""What a learner may have at once in class mode (issue 16): active runs, the largest
network, stored models. Defaults come from the settings; the teacher may change them at
run time (PATCH /api/class/limits), and the change is kept in the store's meta table. The
teacher is never limited (the web layer passes no quota for them)."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from dataclasses import dataclass

from app.store.db import Store

log = logging.getLogger(__name__)
QUOTAS_KEY = "learner_limits"


class OverQuota(Exception):
    """A learner already has as many runs or models as the limit allows (→ 409)."""


class NetworkTooLarge(Exception):
    """A network above the learners' parameter limit (→ 403)."""


@dataclass(frozen=True)
class Quotas:
    active_runs: int  # live runs (queued, downloading, running, paused) a learner may have
    max_parameters: int  # the largest network a learner may train or upload
    models: int  # models (saved and uploaded) a learner may keep

    def check_parameters(self, count: int) -> None:
        if count > self.max_parameters:
            raise NetworkTooLarge(
                f"this network has {count:,} parameters; learners may use up to "
                f"{self.max_parameters:,} (the teacher's limit)"
            )


class QuotaBook:
    """The current quotas (one owner): the settings' defaults, or what the teacher set."""

    def __init__(self, store: Store, defaults: Quotas) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._current = defaults
        stored = store.get_meta(QUOTAS_KEY)
        if stored is not None:
            try:
                values = json.loads(stored)
                fields = {f.name for f in dataclasses.fields(Quotas)}
                known = {k: int(v) for k, v in values.items() if k in fields}
                self._current = dataclasses.replace(defaults, **known)
            except (ValueError, TypeError, AttributeError) as exc:
                log.warning("ignoring the stored learner limits (%s): using the settings", exc)

    @property
    def current(self) -> Quotas:
        return self._current

    def change(self, **values: int) -> Quotas:
        with self._lock:
            updated = dataclasses.replace(self._current, **values)
            self.store.set_meta(QUOTAS_KEY, json.dumps(dataclasses.asdict(updated)))
            self._current = updated
        return updated

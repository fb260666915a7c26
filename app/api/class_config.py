"""The configuration the teacher pushed to the class (issue 16, section 2), kept in the data
directory so it survives a restart.

The file holds `{"config": <TrainConfig JSON, with "preset" if any>, "pushed_at": <Unix
time>}`, written atomically (app/fileio.py). The config is validated exactly as run creation
validates it (app/presets.resolve_config) before it is stored; a file that does not hold a
valid one (edited by hand, from another version) is ignored with a warning.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path

from app.fileio import write_atomic
from app.jsontypes import JSONObject
from app.presets import resolve_config
from app.runs.run import config_to_json

log = logging.getLogger(__name__)

FILE_NAME = "class-config.json"


def resolve(preset: str | None, overrides: Mapping[str, object]) -> JSONObject:
    """The full config of a push, as a run's config shows it; ConfigError as POST /api/runs."""
    return config_to_json(resolve_config(preset, overrides), preset)


class PushedConfig:
    """The pushed config and when it was pushed (both None: nothing pushed)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILE_NAME
        self.config: JSONObject | None = None
        self.pushed_at: float | None = None
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("ignoring %s: %s", self.path, exc)
            return
        if isinstance(data, dict) and data.get("config") is None:
            return  # withdrawn
        try:
            config = data["config"]
            pushed_at = float(data["pushed_at"])
            options = {key: value for key, value in config.items() if key != "preset"}
            preset = config.get("preset")
            self.config = resolve(preset if isinstance(preset, str) else None, options)
            self.pushed_at = pushed_at
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            log.warning("ignoring %s: it holds no valid training config (%s)", self.path, exc)

    def message(self) -> JSONObject:
        """The `config` message of /api/class/events and GET /api/class/config."""
        return {"type": "config", "config": self.config, "pushed_at": self.pushed_at}

    def push(self, config: JSONObject | None) -> JSONObject:
        """Store `config` (already resolved; None withdraws it) and answer the new message.
        The file is written first: on a full disk nothing changes (OSError passes through)."""
        pushed_at = time.time() if config is not None else None
        body = json.dumps({"config": config, "pushed_at": pushed_at}, indent=1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, body.encode())
        self.config, self.pushed_at = config, pushed_at
        return self.message()

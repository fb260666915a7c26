"""The learners of class mode (issue 16) and their bearer tokens: the store owns them.

A learner is an anonymous identity (an id and a name they can change) that owns runs and
models. The local teacher (TEACHER_ID) is a learner too: everything a single-user server ever
made is theirs. Every learner is kept in memory as well, so a request's identity is a dict
lookup; tokens are stored only as their SHA-256 (a stolen database gives no working token).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from app.store.db import TEACHER_ID, Store
from app.store.names import friendly_name

TEACHER_NAME = "teacher"
MAX_NAME_LENGTH = 40
TOKEN_PREFIX = "nnp_"


@dataclass(frozen=True)
class Learner:
    id: str
    name: str
    created: str


class BadName(ValueError):
    """A learner name that is empty, too long or holds control characters."""


def clean_name(name: str) -> str:
    """The name as stored: trimmed, 1 to MAX_NAME_LENGTH characters, no control characters.
    Any other text is allowed (the page shows names as text, never as HTML)."""
    text = name.strip()
    if not 1 <= len(text) <= MAX_NAME_LENGTH:
        raise BadName(f"a name has 1 to {MAX_NAME_LENGTH} characters, not {len(text)}")
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in text):
        raise BadName("a name can't hold control characters (such as a newline)")
    return text


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Learners:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._by_id: dict[str, Learner] = {}
        self._tokens: dict[str, str] = {}  # token hash → learner id
        self.load()

    def load(self) -> None:
        if not self.store.query("SELECT 1 FROM learners WHERE id = ?", (TEACHER_ID,)):
            self.store.execute(
                "INSERT OR IGNORE INTO learners (id, name, created) VALUES (?, ?, ?)",
                (TEACHER_ID, TEACHER_NAME, _now()),
                "store the teacher",
                new=False,
            )
        rows = self.store.query("SELECT id, name, created FROM learners")
        tokens = self.store.query("SELECT hash, learner_id FROM tokens")
        with self._lock:
            self._by_id = {str(r[0]): Learner(str(r[0]), str(r[1]), str(r[2])) for r in rows}
            self._tokens = {str(h): str(i) for h, i in tokens}

    def all(self) -> list[Learner]:
        """Every learner (the teacher first), e.g. for the class dashboard."""
        with self._lock:
            learners = list(self._by_id.values())
        return sorted(learners, key=lambda learner: (learner.id != TEACHER_ID, learner.created))

    def get(self, learner_id: str) -> Learner | None:
        return self._by_id.get(learner_id)

    def name_of(self, learner_id: str) -> str:
        """The learner's name (their id when they are unknown, e.g. deleted by hand)."""
        learner = self._by_id.get(learner_id)
        return learner.name if learner is not None else learner_id

    def create(self) -> Learner:
        """A new learner with a generated friendly name (StorageFull on a full disk)."""
        with self._lock:
            learner_id = f"u_{secrets.token_hex(6)}"
            while learner_id in self._by_id:
                learner_id = f"u_{secrets.token_hex(6)}"
        learner = Learner(learner_id, friendly_name(), _now())
        self.store.execute(
            "INSERT INTO learners (id, name, created) VALUES (?, ?, ?)",
            (learner.id, learner.name, learner.created),
            "store the learner",
            new=True,
        )
        with self._lock:
            self._by_id[learner.id] = learner
        return learner

    def rename(self, learner_id: str, name: str) -> Learner:
        """BadName for a name that can't be used; KeyError for an unknown learner."""
        clean = clean_name(name)
        current = self._by_id[learner_id]
        self.store.execute(
            "UPDATE learners SET name = ? WHERE id = ?",
            (clean, learner_id),
            "rename the learner",
            new=False,
        )
        renamed = Learner(current.id, clean, current.created)
        with self._lock:
            self._by_id[learner_id] = renamed
        return renamed

    def new_token(self, learner_id: str) -> str:
        """A new bearer token for the learner (shown once: only its hash is kept)."""
        if learner_id not in self._by_id:
            raise KeyError(learner_id)
        token = TOKEN_PREFIX + secrets.token_urlsafe(24)
        digest = token_hash(token)
        self.store.execute(
            "INSERT INTO tokens (hash, learner_id, created) VALUES (?, ?, ?)",
            (digest, learner_id, _now()),
            "store the token",
            new=True,
        )
        with self._lock:
            self._tokens[digest] = learner_id
        return token

    def by_token(self, token: str) -> Learner | None:
        """The learner whose token this is; a token made meanwhile by another process (the
        CLI's `nn-playground token`) is found in the database."""
        digest = token_hash(token)
        learner_id = self._tokens.get(digest)
        if learner_id is None and token.startswith(TOKEN_PREFIX):
            rows = self.store.query("SELECT learner_id FROM tokens WHERE hash = ?", (digest,))
            if not rows:
                return None
            self.load()  # the learner may be new as well
            learner_id = self._tokens.get(digest)
        return self._by_id.get(learner_id) if learner_id is not None else None
